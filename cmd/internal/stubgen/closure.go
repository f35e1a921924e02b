package stubgen

import (
	"google.golang.org/protobuf/reflect/protoreflect"
)

// selection is what survives trimming: the kept RPCs and the top-level messages and
// enums they need, transitively. Nested types travel with their top-level parent.
type selection struct {
	methods map[protoreflect.FullName]bool // kept RPCs, "etcdserverpb.KV.Range"
	types   map[protoreflect.FullName]bool // kept top-level messages and enums
}

// closure computes the selection for the kept methods.
func closure(methods []protoreflect.MethodDescriptor) *selection {
	sel := &selection{
		methods: map[protoreflect.FullName]bool{},
		types:   map[protoreflect.FullName]bool{},
	}
	var queue []protoreflect.Descriptor
	add := func(d protoreflect.Descriptor) {
		top := topLevel(d)
		if !sel.types[top.FullName()] {
			sel.types[top.FullName()] = true
			queue = append(queue, top)
		}
	}
	for _, md := range methods {
		sel.methods[md.FullName()] = true
		add(md.Input())
		add(md.Output())
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if md, ok := d.(protoreflect.MessageDescriptor); ok {
			walkFieldTypes(md, add)
		}
	}
	return sel
}

// walkFieldTypes calls fn for the message and enum type of every field of md and of
// the messages nested in it.
func walkFieldTypes(md protoreflect.MessageDescriptor, fn func(protoreflect.Descriptor)) {
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		if f.Message() != nil {
			fn(f.Message())
		}
		if f.Enum() != nil {
			fn(f.Enum())
		}
	}
	for i := 0; i < md.Messages().Len(); i++ {
		walkFieldTypes(md.Messages().Get(i), fn)
	}
}

// topLevel returns the outermost message or enum that contains d (or d itself).
func topLevel(d protoreflect.Descriptor) protoreflect.Descriptor {
	for {
		parent := d.Parent()
		if _, ok := parent.(protoreflect.FileDescriptor); ok || parent == nil {
			return d
		}
		d = parent
	}
}

// keepsFile reports whether anything of the file survives.
func (s *selection) keepsFile(fd protoreflect.FileDescriptor) bool {
	for i := 0; i < fd.Messages().Len(); i++ {
		if s.types[fd.Messages().Get(i).FullName()] {
			return true
		}
	}
	for i := 0; i < fd.Enums().Len(); i++ {
		if s.types[fd.Enums().Get(i).FullName()] {
			return true
		}
	}
	for i := 0; i < fd.Services().Len(); i++ {
		if s.keepsService(fd.Services().Get(i)) {
			return true
		}
	}
	return false
}

// keepsService reports whether any RPC of the service survives.
func (s *selection) keepsService(sd protoreflect.ServiceDescriptor) bool {
	for i := 0; i < sd.Methods().Len(); i++ {
		if s.methods[sd.Methods().Get(i).FullName()] {
			return true
		}
	}
	return false
}

// fileDeps returns the proto packages whose types the kept part of fd refers to,
// other than fd's own. byPkg maps top-level names to their package.
func (s *selection) fileDeps(fd protoreflect.FileDescriptor, byPkg map[protoreflect.FullName]string) map[string]bool {
	deps := map[string]bool{}
	own := string(fd.Package())
	note := func(d protoreflect.Descriptor) {
		if pkg := byPkg[topLevel(d).FullName()]; pkg != own {
			deps[pkg] = true
		}
	}
	for i := 0; i < fd.Messages().Len(); i++ {
		if md := fd.Messages().Get(i); s.types[md.FullName()] {
			walkFieldTypes(md, note)
		}
	}
	for i := 0; i < fd.Services().Len(); i++ {
		sd := fd.Services().Get(i)
		for j := 0; j < sd.Methods().Len(); j++ {
			if md := sd.Methods().Get(j); s.methods[md.FullName()] {
				note(md.Input())
				note(md.Output())
			}
		}
	}
	return deps
}
