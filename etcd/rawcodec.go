package etcd

// rawCodec sends and receives messages as the bytes in a *[]byte, for calls whose messages
// the stubs of older releases lack (Auth.AuthStatus, KV.RangeStream): the package encodes
// and decodes them itself, so it builds over any release's stubs.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

// Name is proto's, so that the server reads the request as the protobuf message it is.
func (rawCodec) Name() string { return "proto" }
