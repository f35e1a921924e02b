package etcd

import (
	"bytes"
	"fmt"
)

// A KeyRange selects keys the way etcd's wire protocol does: Key alone is one key; with End,
// the keys in [Key, End). Build one with Key, Prefix, FromKey, All or Between.
//
// etcd's conventions for End: empty means the single key Key; "\x00" means every key >= Key;
// Key "\x00" with End "\x00" means every key.
type KeyRange struct {
	Key []byte
	End []byte
}

// Key selects the single key k.
func Key(k string) KeyRange { return KeyRange{Key: []byte(k)} }

// Prefix selects every key that starts with p. The empty prefix selects every key.
func Prefix(p string) KeyRange {
	if p == "" {
		return All()
	}
	return KeyRange{Key: []byte(p), End: PrefixEnd([]byte(p))}
}

// FromKey selects every key >= k.
func FromKey(k string) KeyRange {
	if k == "" {
		return All()
	}
	return KeyRange{Key: []byte(k), End: []byte{0}}
}

// All selects every key.
func All() KeyRange { return KeyRange{Key: []byte{0}, End: []byte{0}} }

// Between selects the keys in [from, to). An inverted or empty interval (to <= from) is an
// error (ErrInvalidArgument) when used.
func Between(from, to string) KeyRange { return KeyRange{Key: []byte(from), End: []byte(to)} }

// validate rejects a range the server could not serve meaningfully: an empty key, or an end
// at or before the key (other than "\x00", which means "to the last key").
func (r KeyRange) validate() error {
	if len(r.Key) == 0 {
		return errEmptyKey
	}
	if len(r.End) > 0 && !(len(r.End) == 1 && r.End[0] == 0) && bytes.Compare(r.End, r.Key) <= 0 {
		return wrapArg(fmt.Sprintf("inverted range %s: the end sorts at or before the key", r))
	}
	return nil
}

// IsSingle reports whether r selects exactly one key.
func (r KeyRange) IsSingle() bool { return len(r.End) == 0 }

// String formats r for error messages: the key, or "[key, end)".
func (r KeyRange) String() string {
	if r.IsSingle() {
		return string(r.Key)
	}
	return "[" + string(r.Key) + ", " + string(r.End) + ")"
}

// PrefixEnd returns the end of the range of keys starting with prefix: prefix with trailing
// 0xff bytes dropped and its last byte incremented. A prefix that is empty or all 0xff has no
// upper bound: its end is "\x00", etcd's "to the last key". The input is not modified.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			end := make([]byte, i+1)
			copy(end, prefix)
			end[i]++
			return end
		}
	}
	return []byte{0}
}
