package ofproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Nicira role messages (NXT_ROLE_REQUEST, NXT_ROLE_REPLY) as Open vSwitch's
// include/openflow/nicira-ext.h lays them out: ofp_header, vendor 0x00002320,
// subtype 10 or 11, then the 32-bit nx_role (0 other, 1 master, 2 slave).
func TestNiciraRoleWire(t *testing.T) {
	cases := []struct {
		name string
		msg  Message
		hex  string
	}{
		{"request other", &RoleRequest{Xid: 1, Role: RoleOther}, "0104001400000001000023200000000a00000000"},
		{"request master", &RoleRequest{Xid: 2, Role: RolePrimary}, "0104001400000002000023200000000a00000001"},
		{"request slave", &RoleRequest{Xid: 3, Role: RoleSecondary}, "0104001400000003000023200000000a00000002"},
		{"reply master", &RoleReply{Xid: 4, Role: RolePrimary}, "0104001400000004000023200000000b00000001"},
		{"reply slave", &RoleReply{Xid: 5, Role: RoleSecondary}, "0104001400000005000023200000000b00000002"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.msg.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, tc.hex, hex.EncodeToString(b))
			m, err := Decode(b)
			require.NoError(t, err)
			assert.Equal(t, tc.msg, m)
		})
	}
}

// TestOVSPrintsRoles: ovs-ofctl ofp-print reads every role we encode as that role.
func TestOVSPrintsRoles(t *testing.T) {
	requireOVSOfctl(t)
	names := map[Role]string{RoleOther: "equal", RolePrimary: "primary", RoleSecondary: "secondary"}
	for _, r := range []Role{RoleOther, RolePrimary, RoleSecondary} {
		for _, m := range []Message{&RoleRequest{Xid: 7, Role: r}, &RoleReply{Xid: 7, Role: r}} {
			b, err := m.MarshalBinary()
			require.NoError(t, err)
			out := run(t, "ovs-ofctl", "ofp-print", hex.EncodeToString(b))
			kind := "NXT_ROLE_REQUEST"
			if _, ok := m.(*RoleReply); ok {
				kind = "NXT_ROLE_REPLY"
			}
			// Open vSwitch 3.x names master and slave primary and secondary; older
			// releases print master and slave.
			want := kind + " (xid=0x7): role=" + names[r]
			old := strings.NewReplacer("primary", "master", "secondary", "slave").Replace(want)
			if !strings.Contains(out, want) && !strings.Contains(out, old) {
				t.Errorf("%T %v: ovs-ofctl printed %q, want %q", m, r, out, want)
			}
		}
	}
}

func TestNiciraRoleErrors(t *testing.T) {
	good, _ := (&RoleRequest{Xid: 1, Role: RoleSecondary}).MarshalBinary()
	short := append([]byte(nil), good[:16]...)
	short[3] = 16
	long := append(append([]byte(nil), good...), 0, 0, 0, 0)
	long[3] = 24
	otherVendor := append([]byte(nil), good...)
	otherVendor[11] = 0x21
	cases := []struct {
		name string
		in   []byte
		err  error
	}{
		{"short", short, ErrBadLength},
		{"long", long, ErrBadLength},
		{"length field above the buffer", good[:19], ErrShortMessage},
		{"not Nicira", otherVendor, ErrBadType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := new(RoleRequest).UnmarshalBinary(tc.in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.err), "got %v, want %v", err, tc.err)
		})
	}
	// Decode leaves what is not a 20-byte Nicira role message a raw vendor message.
	m, err := Decode(long)
	require.NoError(t, err)
	assert.IsType(t, &Vendor{}, m)
	// An unknown role value decodes (the switch answers it with an error) and prints.
	unknown := append([]byte(nil), good...)
	unknown[19] = 9
	m, err = Decode(unknown)
	require.NoError(t, err)
	assert.Equal(t, "NX_ROLE_UNKNOWN(9)", m.(*RoleRequest).Role.String())
}

// FuzzNiciraRole: the role decoders never panic; what they accept re-encodes to the
// same 20 bytes.
func FuzzNiciraRole(f *testing.F) {
	for _, m := range []Message{&RoleRequest{Xid: 1, Role: RolePrimary}, &RoleReply{Xid: 2, Role: RoleSecondary},
		&RoleRequest{Role: RoleOther}} {
		b, err := m.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []Message{new(RoleRequest), new(RoleReply)} {
			if err := m.UnmarshalBinary(b); err != nil {
				continue
			}
			out, err := m.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode %T: %v", m, err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("%T round trip: %x -> %x", m, b, out)
			}
		}
	})
}
