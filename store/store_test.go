package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/placement"
)

func server(id string) placement.Server {
	return placement.Server{ID: id, DPID: "000000000000000a", Port: 1, CPUCores: 16, RAMMB: 65536, NICBps: 1e10, Rack: "r1"}
}

func vm(id, srv string, n int) placement.VM {
	return placement.VM{ID: id, MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", n>>8, n&0xff), IP: fmt.Sprintf("10.1.%d.%d", n>>8, n&0xff),
		Server: srv, VCPUs: 2, RAMMB: 2048, CPUUtil: 0.5}
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, st.PutServer(server("s1")))
	require.NoError(t, st.PutServer(server("s2")))
	require.NoError(t, st.PutVM(vm("a", "s1", 1)))
	require.NoError(t, st.PutVM(vm("b", "s2", 2)))
	require.NoError(t, st.DeleteVM("b"))
	require.NoError(t, st.DeleteServer("s2"))
	require.NoError(t, st.Close())

	st, err = Open(dir)
	require.NoError(t, err)
	defer st.Close()
	inv, err := st.Inventory()
	require.NoError(t, err)
	assert.Equal(t, []placement.Server{server("s1")}, inv.Servers)
	assert.Equal(t, []placement.VM{vm("a", "s1", 1)}, inv.VMs)
	require.NoError(t, inv.Validate())
}

func TestReferentialChecks(t *testing.T) {
	st, err := Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.PutServer(server("s1")))

	err = st.PutVM(vm("a", "nope", 1))
	assert.ErrorIs(t, err, ErrUnknownServer)
	require.NoError(t, st.PutVM(vm("a", "s1", 1)))
	// Same MAC under another id.
	dup := vm("b", "s1", 1)
	dup.IP = "10.9.9.9"
	err = st.PutVM(dup)
	var fe *placement.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "mac", fe.Field)
	// Replacing a VM by its own id is fine.
	require.NoError(t, st.PutVM(vm("a", "s1", 1)))

	assert.ErrorIs(t, st.DeleteServer("s1"), ErrServerInUse)
	assert.ErrorIs(t, st.DeleteServer("s9"), ErrNotFound)
	assert.ErrorIs(t, st.DeleteVM("zz"), ErrNotFound)
	_, err = st.VM("zz")
	assert.ErrorIs(t, err, ErrNotFound)

	bad := server("s2")
	bad.NICBps = -1
	err = st.PutServer(bad)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "nic_bps", fe.Field)
}

// Another bucket, as the migration records use: generic Put/Get/List in the
// same file, and several records in one transaction.
func TestOtherBuckets(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	require.NoError(t, err)
	type rec struct {
		VM   string  `json:"vm"`
		Time float64 `json:"total_time_s"`
	}
	require.NoError(t, Put(st, "migrations", "0001", rec{"a", 1.5}))
	require.NoError(t, st.Update(func(tx *bolt.Tx) error {
		if err := PutTx(tx, "migrations", "0002", rec{"b", 2}); err != nil {
			return err
		}
		return PutTx(tx, "migrations", "0003", rec{"c", 3})
	}))
	// A failing transaction writes nothing.
	boom := errors.New("boom")
	require.ErrorIs(t, st.Update(func(tx *bolt.Tx) error {
		_ = PutTx(tx, "migrations", "0004", rec{"d", 4})
		return boom
	}), boom)
	require.NoError(t, st.Close())
	st, err = Open(dir)
	require.NoError(t, err)
	defer st.Close()
	got, err := List[rec](st, "migrations")
	require.NoError(t, err)
	assert.Equal(t, []rec{{"a", 1.5}, {"b", 2}, {"c", 3}}, got)
	one, err := Get[rec](st, "migrations", "0002")
	require.NoError(t, err)
	assert.Equal(t, rec{"b", 2}, one)
	_, err = Get[rec](st, "nothing", "x")
	assert.ErrorIs(t, err, ErrNotFound)
}

// writerEnv makes the test binary a writer process: it stores servers and
// VMs one by one, printing "ack N" after each write returns, until killed.
const writerEnv = "CEMON_STORE_WRITER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		os.Exit(writer(dir))
	}
	os.Exit(m.Run())
}

func writer(dir string) int {
	st, err := Open(dir)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if err := st.PutServer(server("s1")); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ack 0")
	for i := 1; i < 100000; i++ {
		if err := st.PutVM(vm("vm"+strconv.Itoa(i), "s1", i)); err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("ack", i)
	}
	return 0
}

// A process killed with SIGKILL in the middle of writing loses no write it
// acknowledged.
func TestSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	last := -1
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		line := sc.Text()
		require.True(t, strings.HasPrefix(line, "ack "), "writer: %s", line)
		last, err = strconv.Atoi(strings.TrimPrefix(line, "ack "))
		require.NoError(t, err)
		if last >= 40 {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.GreaterOrEqual(t, last, 40, "writer acknowledged too few writes")

	st, err := Open(dir)
	require.NoError(t, err)
	defer st.Close()
	inv, err := st.Inventory()
	require.NoError(t, err)
	require.Len(t, inv.Servers, 1)
	have := map[string]bool{}
	for _, v := range inv.VMs {
		have[v.ID] = true
	}
	for i := 1; i <= last; i++ {
		assert.True(t, have["vm"+strconv.Itoa(i)], "acknowledged write vm%d lost", i)
	}
	require.NoError(t, inv.Validate())
}
