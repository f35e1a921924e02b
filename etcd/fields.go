package etcd

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Fields that only newer releases define are reached by name through protobuf reflection, so
// that the package compiles over the stubs of any release; over stubs that lack a field, a
// getter returns the zero value and a setter does nothing. Field numbers and types never
// change between releases, so a field found has the expected kind.

// fieldOf finds the field called name of kind k in m, or nil.
func fieldOf(m protoreflect.Message, name protoreflect.Name, k protoreflect.Kind) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != k || fd.IsList() || fd.IsMap() {
		return nil
	}
	return fd
}

// setBool sets the bool field called name, when m's stubs have it.
func setBool(m proto.Message, name protoreflect.Name, v bool) {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.BoolKind); fd != nil {
		r.Set(fd, protoreflect.ValueOfBool(v))
	}
}

// getBool reads the bool field called name; false when m's stubs lack it.
func getBool(m proto.Message, name protoreflect.Name) bool {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.BoolKind); fd != nil {
		return r.Get(fd).Bool()
	}
	return false
}

// getString reads the string field called name; empty when m's stubs lack it.
func getString(m proto.Message, name protoreflect.Name) string {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.StringKind); fd != nil {
		return r.Get(fd).String()
	}
	return ""
}

// getInt reads the int64 field called name; 0 when m's stubs lack it.
func getInt(m proto.Message, name protoreflect.Name) int64 {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.Int64Kind); fd != nil {
		return r.Get(fd).Int()
	}
	return 0
}

// getMessage reads the message field called name; nil when m's stubs lack it or the server
// did not send it.
func getMessage(m proto.Message, name protoreflect.Name) proto.Message {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.MessageKind); fd != nil && r.Has(fd) {
		return r.Get(fd).Message().Interface()
	}
	return nil
}
