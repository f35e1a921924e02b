package etcd

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec sends and receives messages as the bytes in a *[]byte, for calls whose messages
// a copy of the kit's stubs may lack: RPCs of newer releases (Auth.AuthStatus,
// KV.RangeStream) and the few RPCs every copy needs whatever its keep-list
// (Auth.Authenticate to log in, Maintenance.Status to check endpoints). The package encodes
// and decodes them itself, so it builds over any release's stubs and any keep-list.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

// Name is proto's, so that the server reads the request as the protobuf message it is.
func (rawCodec) Name() string { return "proto" }

// invokeRaw makes a unary call by method path with an encoded request and returns the
// encoded response.
func invokeRaw(ctx context.Context, conn grpc.ClientConnInterface, method string, req []byte) ([]byte, error) {
	var resp []byte
	if err := conn.Invoke(ctx, method, &req, &resp, grpc.ForceCodec(rawCodec{})); err != nil {
		return nil, err
	}
	return resp, nil
}

// errMalformed is the cause of a response that does not decode.
var errMalformed = errors.New("etcd: malformed response")

// rawField is one field of an encoded message: a varint's value, or the bytes of a
// length-delimited field.
type rawField struct {
	num    protowire.Number
	varint uint64
	bytes  []byte
}

// rawFields splits an encoded message into its varint and length-delimited fields, in wire
// order; fields of other wire types are skipped. The error wraps errMalformed.
func rawFields(msg []byte) ([]rawField, error) {
	var fields []rawField
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
		}
		msg = msg[n:]
		f := rawField{num: num}
		switch typ {
		case protowire.VarintType:
			f.varint, n = protowire.ConsumeVarint(msg)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(msg)
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
		}
		msg = msg[n:]
		if typ == protowire.VarintType || typ == protowire.BytesType {
			fields = append(fields, f)
		}
	}
	return fields, nil
}

// appendRawString appends a string field to an encoded message.
func appendRawString(msg []byte, num protowire.Number, s string) []byte {
	msg = protowire.AppendTag(msg, num, protowire.BytesType)
	return protowire.AppendString(msg, s)
}
