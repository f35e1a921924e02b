package etcd

// namespace is Config.Namespace: a prefix added to every key the client sends and removed from
// every key it receives. The empty namespace changes nothing.
type namespace string

// key returns k inside the namespace.
func (n namespace) key(k []byte) []byte {
	if n == "" {
		return k
	}
	out := make([]byte, 0, len(n)+len(k))
	return append(append(out, n...), k...)
}

// keyOf returns the request key for k inside the namespace; without one, k's own memory (see
// wire).
func (n namespace) keyOf(k string) []byte {
	if n == "" {
		return wire(k)
	}
	out := make([]byte, 0, len(n)+len(k))
	return append(append(out, n...), k...)
}

// keyRange maps r into the namespace. etcd's open ends ("\x00", every key from Key on) become
// the end of the namespace, so that a range never leaves it.
func (n namespace) keyRange(r KeyRange) (key, end []byte) {
	if n == "" {
		return r.Key, r.End
	}
	all := len(r.Key) == 1 && r.Key[0] == 0 && len(r.End) == 1 && r.End[0] == 0
	switch {
	case all:
		return []byte(n), PrefixEnd([]byte(n))
	case len(r.End) == 0:
		return n.key(r.Key), nil
	case len(r.End) == 1 && r.End[0] == 0:
		return n.key(r.Key), PrefixEnd([]byte(n))
	default:
		return n.key(r.Key), n.key(r.End)
	}
}

// strip returns k without the namespace. Keys outside it (which a correct server never sends)
// are returned unchanged.
func (n namespace) strip(k []byte) []byte {
	if len(k) >= len(n) && string(k[:len(n)]) == string(n) {
		return k[len(n):]
	}
	return k
}
