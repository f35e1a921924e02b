package etcd

import (
	"bytes"
	"testing"
)

func TestPrefixEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix []byte
		want   []byte
	}{
		{"empty prefix has no end", []byte{}, []byte{0}},
		{"nil prefix has no end", nil, []byte{0}},
		{"simple", []byte("a/"), []byte("a0")},
		{"last byte incremented", []byte("abc"), []byte("abd")},
		{"trailing 0xff dropped", []byte{'a', 0xff}, []byte{'b'}},
		{"several trailing 0xff dropped", []byte{'a', 'b', 0xff, 0xff}, []byte{'a', 'c'}},
		{"all 0xff has no end", []byte{0xff, 0xff}, []byte{0}},
		{"single 0xff has no end", []byte{0xff}, []byte{0}},
		{"zero byte", []byte{0}, []byte{1}},
		{"binary middle 0xff kept", []byte{0xff, 0x01}, []byte{0xff, 0x02}},
		{"0xfe becomes 0xff", []byte{'x', 0xfe}, []byte{'x', 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bytes.Clone(tt.prefix)
			got := PrefixEnd(tt.prefix)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("PrefixEnd(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
			if !bytes.Equal(in, tt.prefix) {
				t.Errorf("PrefixEnd modified its input: %q became %q", in, tt.prefix)
			}
		})
	}
}

func TestKeyRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		r        KeyRange
		key, end string
		single   bool
	}{
		{"single key", Key("a"), "a", "", true},
		{"binary single key", Key("\x00\xff"), "\x00\xff", "", true},
		{"prefix", Prefix("cfg/"), "cfg/", "cfg0", false},
		{"empty prefix is all", Prefix(""), "\x00", "\x00", false},
		{"0xff prefix", Prefix("\xff"), "\xff", "\x00", false},
		{"from key", FromKey("m"), "m", "\x00", false},
		{"from empty key is all", FromKey(""), "\x00", "\x00", false},
		{"all", All(), "\x00", "\x00", false},
		{"between", Between("a", "c"), "a", "c", false},
		{"inverted between is kept as given", Between("c", "a"), "c", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.r.Key) != tt.key || string(tt.r.End) != tt.end {
				t.Errorf("got [%q, %q), want [%q, %q)", tt.r.Key, tt.r.End, tt.key, tt.end)
			}
			if tt.r.IsSingle() != tt.single {
				t.Errorf("IsSingle() = %v, want %v", tt.r.IsSingle(), tt.single)
			}
		})
	}
}

// FuzzPrefixEnd checks PrefixEnd's defining property: every key that starts with the prefix
// sorts inside [prefix, end), and the prefix itself is the smallest such key.
func FuzzPrefixEnd(f *testing.F) {
	for _, seed := range []string{"", "a", "a/", "\xff", "\xff\xff", "a\xff", "\x00", "ab\xff\xfe"} {
		f.Add([]byte(seed), []byte("suffix"))
	}
	f.Fuzz(func(t *testing.T, prefix, suffix []byte) {
		end := PrefixEnd(prefix)
		key := append(bytes.Clone(prefix), suffix...)
		if bytes.Equal(end, []byte{0}) {
			// No upper bound: only prefixes of all 0xff bytes (or empty) have none.
			if len(bytes.TrimRight(prefix, "\xff")) != 0 {
				t.Fatalf("PrefixEnd(%q) = \\x00 but the prefix has a byte below 0xff", prefix)
			}
			return
		}
		if bytes.Compare(key, end) >= 0 {
			t.Fatalf("key %q with prefix %q is not below end %q", key, prefix, end)
		}
		if bytes.Compare(prefix, end) >= 0 {
			t.Fatalf("prefix %q is not below its end %q", prefix, end)
		}
		// The end itself must not start with the prefix.
		if bytes.HasPrefix(end, prefix) {
			t.Fatalf("end %q starts with prefix %q", end, prefix)
		}
	})
}
