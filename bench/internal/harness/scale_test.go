package harness

import "testing"

// TestIsListKey: the list workload's check of each key read accepts exactly ListKey(prefix,
// i) and allocates nothing.
func TestIsListKey(t *testing.T) {
	const p = "list/"
	for _, tc := range []struct {
		key  string
		i    int
		want bool
	}{
		{ListKey(p, 0), 0, true},
		{ListKey(p, 7), 7, true},
		{ListKey(p, 1234567), 1234567, true},
		{ListKey(p, 9999999), 9999999, true},
		{ListKey(p, 7), 8, false},
		{ListKey(p, 10), 1, false},
		{ListKey(p, 1), 10, false},
		{ListKey("lost/", 7), 7, false},
		{ListKey(p, 12345678), 12345678, false}, // eight digits: not a key the workload writes
		{ListKey(p, 0), 10000000, false},
		{p + "000000x", 0, false},
		{p + "000007", 7, false},
		{"", 0, false},
	} {
		if got := isListKey([]byte(tc.key), p, tc.i); got != tc.want {
			t.Errorf("isListKey(%q, %d) = %v, want %v", tc.key, tc.i, got, tc.want)
		}
	}
	key := []byte(ListKey(p, 4242))
	if n := testing.AllocsPerRun(100, func() { isListKey(key, p, 4242) }); n != 0 {
		t.Errorf("isListKey allocates %v times a call", n)
	}
}
