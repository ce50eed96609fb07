package libcontainer

import "testing"

func TestNotifyMessage(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ready   bool
	}{
		{"READY=1", "MAINPID=42\nREADY=1\n", true},
		{"STATUS=starting\nREADY=1\n", "MAINPID=42\nSTATUS=starting\nREADY=1\n", true},
		{"MAINPID=1\nREADY=1", "MAINPID=42\nREADY=1\n", true},
		{"STATUS=warming up", "STATUS=warming up\n", false},
		{"MAINPID=7", "", false},
		{"READY=0", "READY=0\n", false},
		{"XREADY=1", "XREADY=1\n", false},
	} {
		out, ready := notifyMessage([]byte(tc.in), 42)
		if string(out) != tc.out || ready != tc.ready {
			t.Errorf("notifyMessage(%q) = %q, %v; want %q, %v", tc.in, out, ready, tc.out, tc.ready)
		}
	}
}
