package image

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
)

func zstdFrame(t *testing.T, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// TestZstdReader: libzstd through zstdReader reads what another encoder
// wrote, frame after frame, through one-byte reads, and tells a cut or
// corrupt stream from a finished one.
func TestZstdReader(t *testing.T) {
	big := bytes.Repeat([]byte("berth layer data 0123456789\n"), 50000)
	two := append(zstdFrame(t, big), zstdFrame(t, []byte("second frame"))...)
	want := append(append([]byte{}, big...), "second frame"...)

	for name, src := range map[string]io.Reader{
		"whole":      bytes.NewReader(two),
		"byte reads": iotest.OneByteReader(bytes.NewReader(two)),
	} {
		z, err := newZstdReader(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(z)
		z.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, err %v; want %d bytes", name, len(got), err, len(want))
		}
	}

	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"cut":     {two[:len(two)/2], io.ErrUnexpectedEOF.Error()},
		"empty":   {nil, io.ErrUnexpectedEOF.Error()},
		"corrupt": {append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xff}, 64)...), "zstd: "},
	} {
		z, err := newZstdReader(bytes.NewReader(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(z)
		z.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}

	src := iotest.ErrReader(errors.New("disk on fire"))
	z, _ := newZstdReader(src)
	if _, err := io.ReadAll(z); err == nil || err.Error() != "disk on fire" {
		t.Errorf("source error: %v", err)
	}
	z.Close()
}
