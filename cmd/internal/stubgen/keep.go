package stubgen

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// DefaultKeep is the keep-list a run uses when none is given: what the everyday files of
// package etcd need (KV, Watch, Lease, the member list, status and alarms; their
// //etcdkit:needs lines), so that a user's vendored copy stays small. The operator files
// (members, maintenance, auth administration, snapshots, downgrades) need more and are
// copied only when the keep-list meets their needs. etcdkit's own gen/ keeps every service
// (ROOT_KEEP in scripts/pins.env).
const DefaultKeep = "KV,Watch,Lease,Cluster.MemberList,Maintenance.Status,Maintenance.Alarm"

// keepEntry is one element of a keep-list: a whole service, or one RPC of it.
type keepEntry struct {
	service string
	rpc     string // empty: every RPC of the service
}

// identPattern matches a proto identifier.
var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseKeep parses a comma-separated keep-list such as "KV,Cluster.MemberList".
func parseKeep(list string) ([]keepEntry, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("the keep-list is empty: name services (KV) or RPCs (Cluster.MemberList), separated by commas")
	}
	var entries []keepEntry
	for _, raw := range strings.Split(list, ",") {
		item := strings.TrimSpace(raw)
		service, rpc, hasDot := strings.Cut(item, ".")
		if !identPattern.MatchString(service) || hasDot && !identPattern.MatchString(rpc) {
			return nil, fmt.Errorf("malformed keep-list entry %q: want Service or Service.RPC", item)
		}
		entries = append(entries, keepEntry{service: service, rpc: rpc})
	}
	return entries, nil
}

// formatKeep writes a parsed keep-list back in canonical form: "KV,Cluster.MemberList".
func formatKeep(entries []keepEntry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = e.String()
	}
	return strings.Join(parts, ",")
}

// String returns the entry as written in a keep-list.
func (e keepEntry) String() string {
	if e.rpc == "" {
		return e.service
	}
	return e.service + "." + e.rpc
}

// needsServerModule reports whether a keep-list names a service of etcd's server module.
func needsServerModule(entries []keepEntry) bool {
	for _, e := range entries {
		if _, ok := serverServices[e.service]; ok {
			return true
		}
	}
	return false
}

// resolveKeep turns a keep-list into the kept methods, sorted by full name. Unknown
// services and RPCs are errors that list the valid names.
func resolveKeep(entries []keepEntry, set *upstreamSet) ([]protoreflect.MethodDescriptor, error) {
	services := set.services()
	seen := map[protoreflect.FullName]bool{}
	var methods []protoreflect.MethodDescriptor
	for _, e := range entries {
		sd, ok := services[e.service]
		if !ok {
			if pkg, isServer := serverServices[e.service]; isServer {
				return nil, fmt.Errorf("keep-list: service %s lives in %s, which the source does not have", e.service, pkg)
			}
			return nil, fmt.Errorf("keep-list: unknown service %q; valid services: %s", e.service, strings.Join(serviceNames(services), ", "))
		}
		ms := sd.Methods()
		if e.rpc != "" {
			md := ms.ByName(protoreflect.Name(e.rpc))
			if md == nil {
				return nil, fmt.Errorf("keep-list: service %s has no RPC %q; valid RPCs: %s", e.service, e.rpc, strings.Join(methodNames(sd), ", "))
			}
			if !seen[md.FullName()] {
				seen[md.FullName()] = true
				methods = append(methods, md)
			}
			continue
		}
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			if !seen[md.FullName()] {
				seen[md.FullName()] = true
				methods = append(methods, md)
			}
		}
	}
	sort.Slice(methods, func(i, j int) bool { return methods[i].FullName() < methods[j].FullName() })
	return methods, nil
}

// serviceNames lists the known services sorted, with Lock and Election always named.
func serviceNames(services map[string]protoreflect.ServiceDescriptor) []string {
	names := map[string]bool{}
	for n := range services {
		names[n] = true
	}
	for n := range serverServices {
		names[n] = true
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// methodNames lists a service's RPCs in declaration order.
func methodNames(sd protoreflect.ServiceDescriptor) []string {
	var out []string
	for i := 0; i < sd.Methods().Len(); i++ {
		out = append(out, string(sd.Methods().Get(i).Name()))
	}
	return out
}
