package image

// zstd layers are decompressed by the system's libzstd (libzstd-dev, linked
// statically into berth). A pure-Go decoder would cost every berth process,
// image or not, its package initialisation: the one berth used built CRC
// tables at start-up, ~0.2 ms of each create, start, exec and delete.

// #cgo LDFLAGS: -lzstd
// #include <stdlib.h>
// #include <zstd.h>
//
// /* One step of ZSTD_decompressStream; the buffers live on this stack so no
//    Go memory holds a pointer into other Go memory. */
// static size_t berth_zstd_step(ZSTD_DStream *ds, void *dst, size_t cap, size_t *dpos,
//                               const void *src, size_t size, size_t *spos) {
// 	ZSTD_outBuffer out = { dst, cap, *dpos };
// 	ZSTD_inBuffer in = { src, size, *spos };
// 	size_t r = ZSTD_decompressStream(ds, &out, &in);
// 	*dpos = out.pos;
// 	*spos = in.pos;
// 	return r;
// }
import "C"

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"unsafe"
)

// zstdReader decompresses a zstd stream (one or more frames) from src.
type zstdReader struct {
	src      io.Reader
	ds       *C.ZSTD_DStream
	in       []byte
	pos, end int
	srcDone  bool
	// atFrameEnd: the last step that made progress ended a frame (a step
	// with nothing to do asks for the next frame's header instead).
	atFrameEnd bool
	err        error
}

func newZstdReader(src io.Reader) (*zstdReader, error) {
	ds := C.ZSTD_createDStream()
	if ds == nil {
		return nil, errors.New("ZSTD_createDStream failed")
	}
	if r := C.ZSTD_initDStream(ds); C.ZSTD_isError(r) != 0 {
		C.ZSTD_freeDStream(ds)
		return nil, zstdError(r)
	}
	z := &zstdReader{src: src, ds: ds, in: make([]byte, int(C.ZSTD_DStreamInSize()))}
	runtime.SetFinalizer(z, (*zstdReader).Close)
	return z, nil
}

func zstdError(r C.size_t) error {
	return fmt.Errorf("zstd: %s", C.GoString(C.ZSTD_getErrorName(r)))
}

func (z *zstdReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if z.pos == z.end && !z.srcDone {
			n, err := z.src.Read(z.in)
			z.pos, z.end = 0, n
			if errors.Is(err, io.EOF) {
				z.srcDone = true
			} else if err != nil {
				z.err = err
				return 0, err
			}
		}
		// With the input used up this still runs: it flushes what the
		// decoder holds back.
		var dpos, spos C.size_t = 0, C.size_t(z.pos)
		var src unsafe.Pointer
		if z.end > 0 {
			src = unsafe.Pointer(&z.in[0])
		}
		r := C.berth_zstd_step(z.ds, unsafe.Pointer(&p[0]), C.size_t(len(p)), &dpos, src, C.size_t(z.end), &spos)
		if C.ZSTD_isError(r) != 0 {
			z.err = zstdError(r)
			return 0, z.err
		}
		progress := dpos > 0 || int(spos) != z.pos
		z.pos = int(spos)
		if progress {
			z.atFrameEnd = r == 0
		}
		if dpos > 0 {
			return int(dpos), nil
		}
		if !progress && z.pos == z.end && z.srcDone {
			z.err = io.EOF
			if !z.atFrameEnd {
				z.err = io.ErrUnexpectedEOF
			}
			return 0, z.err
		}
	}
}

// Close frees the decoder.
func (z *zstdReader) Close() {
	if z.ds != nil {
		C.ZSTD_freeDStream(z.ds)
		z.ds = nil
	}
	runtime.SetFinalizer(z, nil)
}
