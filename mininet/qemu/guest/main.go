// Command guest is the program cemon's migration testbed runs inside a QEMU guest
// (as the init process's child, from a busybox initramfs). It fills a given amount of
// memory with non-zero data, dirties pages at a given rate, and verifies every page
// against the version it last wrote, printing one line per second on the console:
//
//	cemon-guest: mem=64MiB dirty=10MB/s gen=12 written=1234 verify=ok
//
// A migration that loses or corrupts memory shows as verify=FAILED on the destination.
// Parameters come from the kernel command line: cemon.mem=MiB, cemon.dirty=MB/s
// (MB = 10^6 bytes).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const pageSize = 4096

// params reads cemon.mem and cemon.dirty from the kernel command line.
func params(cmdline string) (memMiB int, dirtyMBs float64, err error) {
	memMiB, dirtyMBs = 64, 0
	for _, f := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "cemon.mem":
			if memMiB, err = strconv.Atoi(v); err != nil || memMiB <= 0 {
				return 0, 0, fmt.Errorf("cemon.mem=%s: want a positive number of MiB", v)
			}
		case "cemon.dirty":
			if dirtyMBs, err = strconv.ParseFloat(v, 64); err != nil || dirtyMBs < 0 {
				return 0, 0, fmt.Errorf("cemon.dirty=%s: want a rate in MB/s", v)
			}
		}
	}
	return memMiB, dirtyMBs, nil
}

// fill writes page p's content for version v: every 8-byte word is a non-zero
// function of the page, the version and the word's place.
func fill(page []byte, p int, v uint32) {
	x := uint64(p)<<32 | uint64(v) | 1<<63
	for i := 0; i+8 <= len(page); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w := x | 1
		page[i], page[i+1], page[i+2], page[i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
		page[i+4], page[i+5], page[i+6], page[i+7] = byte(w>>32), byte(w>>40), byte(w>>48), byte(w>>56)
	}
}

// check reports whether page p holds version v's content.
func check(page []byte, p int, v uint32, scratch []byte) bool {
	fill(scratch, p, v)
	return string(page) == string(scratch)
}

func main() {
	cmdline := strings.Join(os.Args[1:], " ")
	if cmdline == "" {
		b, _ := os.ReadFile("/proc/cmdline")
		cmdline = string(b)
	}
	memMiB, dirty, err := params(cmdline)
	if err != nil {
		fmt.Println("cemon-guest: error:", err)
		os.Exit(2)
	}
	pages := memMiB << 20 / pageSize
	mem := make([]byte, pages*pageSize)
	ver := make([]uint32, pages)
	for p := 0; p < pages; p++ {
		fill(mem[p*pageSize:(p+1)*pageSize], p, 0)
	}
	fmt.Printf("cemon-guest: ready mem=%dMiB dirty=%gMB/s pages=%d\n", memMiB, dirty, pages)
	scratch := make([]byte, pageSize)
	perTick := dirty * 1e6 / pageSize / 100 // pages per 10 ms
	var carry float64
	next, written, gen, cursor := 0, 0, 0, 0
	lastReport := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	verified, failed := 0, -1
	for range tick.C {
		carry += perTick
		for carry >= 1 {
			carry--
			// Walk the pages with a stride, so that the dirty set spreads over memory.
			next = (next + 7919) % pages
			ver[next]++
			fill(mem[next*pageSize:(next+1)*pageSize], next, ver[next])
			written++
		}
		// Verify a slice of memory each tick: all of it every few seconds.
		for n := 0; n < pages/200+1; n++ {
			if !check(mem[cursor*pageSize:(cursor+1)*pageSize], cursor, ver[cursor], scratch) && failed < 0 {
				failed = cursor
			}
			cursor++
			if cursor == pages {
				cursor = 0
				verified++
			}
		}
		if time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			gen++
			state := "ok"
			if failed >= 0 {
				state = fmt.Sprintf("FAILED page=%d", failed)
			}
			fmt.Printf("cemon-guest: mem=%dMiB dirty=%gMB/s gen=%d written=%d passes=%d verify=%s\n",
				memMiB, dirty, gen, written, verified, state)
		}
	}
}
