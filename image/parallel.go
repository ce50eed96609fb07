package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// filePool writes small regular files on a few goroutines while the
// applier goes on reading the tar stream: creating an inode is kernel
// CPU that overlaps with reading, and with the other creates on other
// cores, while the stream itself can only be read in order.
//
// Only the creation of a file, its content and its metadata happen in a
// worker. Everything that resolves or changes the tree (parent
// directories, removals, links, whiteouts) stays on the applier's
// goroutine, in tar order, and waits for the workers (barrier) whenever
// it could touch a path still being written: the same path or one below
// it, a hard link (its target may be in flight), a whiteout, or the
// removal of a directory. The result is the tree a sequential apply
// makes. The pool is used only by a privileged applier: root writes into
// directories whatever their mode, so a directory entry's chmod racing
// ahead of a worker cannot refuse that worker's create.
type filePool struct {
	a        *applier
	jobs     chan fileJob
	inflight map[string]bool // applier goroutine only
	pending  sync.WaitGroup
	workers  sync.WaitGroup
	mu       sync.Mutex
	err      error
}

type fileJob struct {
	parent int // O_PATH descriptor of the parent, owned by the job
	base   string
	rel    string
	hdr    *tar.Header
	data   []byte
}

// poolMaxFile is the largest file handed to a worker; bigger ones are
// streamed by the applier itself, so the pool holds at most
// cap(jobs)+workers such buffers.
const poolMaxFile = 256 << 10

func newFilePool(a *applier) *filePool {
	n := max(2, runtime.GOMAXPROCS(0))
	p := &filePool{a: a, jobs: make(chan fileJob, 8*n), inflight: map[string]bool{}}
	for range n {
		p.workers.Add(1)
		go p.work()
	}
	return p
}

func (p *filePool) work() {
	defer p.workers.Done()
	for j := range p.jobs {
		if p.failed() == nil {
			err := writeFile(j.parent, j.base, bytes.NewReader(j.data), nil)
			if err == nil {
				err = p.a.setMeta(j.parent, j.base, j.rel, j.hdr)
			}
			if err != nil {
				p.mu.Lock()
				if p.err == nil {
					p.err = fmt.Errorf("entry %q: %w", j.hdr.Name, err)
				}
				p.mu.Unlock()
			}
		}
		unix.Close(j.parent)
		p.pending.Done()
	}
}

func (p *filePool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// takes tells whether a regular file goes to a worker.
func (p *filePool) takes(hdr *tar.Header) bool {
	return p != nil && hdr.Size <= poolMaxFile
}

// submit reads the file's content from the stream and queues it.
func (p *filePool) submit(parent int, base, rel string, hdr *tar.Header, r io.Reader) error {
	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	fd, err := unix.FcntlInt(uintptr(parent), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("dup parent: %w", err)
	}
	p.inflight[rel] = true
	p.pending.Add(1)
	p.jobs <- fileJob{parent: fd, base: base, rel: rel, hdr: hdr, data: data}
	return nil
}

// conflicts tells whether the entry at rel must wait for the workers
// before the applier touches the tree for it.
func (p *filePool) conflicts(rel string, hdr *tar.Header) bool {
	if p == nil || len(p.inflight) == 0 {
		return false
	}
	if hdr.Typeflag == tar.TypeLink {
		return true
	}
	if base := path.Base(rel); len(base) >= len(whiteoutPrefix) && base[:len(whiteoutPrefix)] == whiteoutPrefix {
		return true
	}
	for q := rel; q != "." && q != "/" && q != ""; q = path.Dir(q) {
		if p.inflight[q] {
			return true
		}
	}
	return false
}

// barrier waits until every queued file is written and reports the first
// failure.
func (p *filePool) barrier() error {
	if p == nil {
		return nil
	}
	p.pending.Wait()
	clear(p.inflight)
	return p.failed()
}

// stop ends the workers; queued files are still written (or, after a
// failure, only their descriptors closed).
func (p *filePool) stop() {
	if p == nil {
		return
	}
	close(p.jobs)
	p.workers.Wait()
}
