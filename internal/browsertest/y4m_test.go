package browsertest

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
)

// writeY4M writes a still picture as a short Y4M video (4:2:0, grey:
// the colour planes are flat), the format Chromium's fake camera plays
// from a file in a loop. The PNG is centred on a white frame of w×h.
func writeY4M(path string, pngBytes []byte, w, h int) error {
	src, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return err
	}
	frame := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(frame, frame.Bounds(), image.White, image.Point{}, draw.Src)
	// The image as large as the frame allows (whole pixels, each module
	// sharp): a camera held close, which any decoder reads at its first
	// look, however busy the machine.
	b := src.Bounds()
	k := max(1, min(w*3/4/b.Dx(), h*3/4/b.Dy()))
	off := image.Pt((w-k*b.Dx())/2, (h-k*b.Dy())/2)
	for y := range k * b.Dy() {
		for x := range k * b.Dx() {
			frame.Set(off.X+x, off.Y+y, src.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(f)
	fmt.Fprintf(out, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", w, h)
	chroma := bytes.Repeat([]byte{128}, (w/2)*(h/2))
	for range 10 {
		out.WriteString("FRAME\n")
		out.Write(frame.Pix)
		out.Write(chroma)
		out.Write(chroma)
	}
	if err := out.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
