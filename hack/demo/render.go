package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"math"
	"os"
	"time"

	"github.com/hinshun/vt10x"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Glyph attributes of vt10x (unexported there).
const (
	attrReverse   = 1 << 0
	attrUnderline = 1 << 1
	attrBold      = 1 << 2
)

// The 16 ANSI colours (a dark theme) and the default foreground and background.
var (
	ansi = [16]color.RGBA{
		{0x1e, 0x1e, 0x1e, 0xff}, {0xe0, 0x6c, 0x75, 0xff}, {0x98, 0xc3, 0x79, 0xff}, {0xe5, 0xc0, 0x7b, 0xff},
		{0x61, 0xaf, 0xef, 0xff}, {0xc6, 0x78, 0xdd, 0xff}, {0x56, 0xb6, 0xc2, 0xff}, {0xab, 0xb2, 0xbf, 0xff},
		{0x5c, 0x63, 0x70, 0xff}, {0xff, 0x7b, 0x86, 0xff}, {0xb5, 0xe8, 0x90, 0xff}, {0xff, 0xd6, 0x8f, 0xff},
		{0x7d, 0xc4, 0xff, 0xff}, {0xde, 0x8e, 0xf5, 0xff}, {0x6e, 0xd0, 0xdc, 0xff}, {0xff, 0xff, 0xff, 0xff},
	}
	defaultFG = color.RGBA{0xd4, 0xd4, 0xd4, 0xff}
	defaultBG = color.RGBA{0x1e, 0x1e, 0x1e, 0xff}
)

// event is one "o" (output) event of an asciicast v2 file.
type event struct {
	at   time.Duration
	data string
}

func readCast(path string) (castHeader, []event, error) {
	f, err := os.Open(path)
	if err != nil {
		return castHeader{}, nil, err
	}
	defer func() { _ = f.Close() }()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	var h castHeader
	if !lines.Scan() {
		return h, nil, fmt.Errorf("%s is empty: record it with `demo record`", path)
	}
	if err := json.Unmarshal(lines.Bytes(), &h); err != nil {
		return h, nil, fmt.Errorf("%s does not start with an asciicast v2 header: %w", path, err)
	}
	if h.Version != 2 || h.Width == 0 || h.Height == 0 {
		return h, nil, fmt.Errorf("%s: version %d, %dx%d: not an asciicast v2 header with a size", path, h.Version, h.Width, h.Height)
	}
	var events []event
	for n := 2; lines.Scan(); n++ {
		var raw []any
		if err := json.Unmarshal(lines.Bytes(), &raw); err != nil || len(raw) != 3 {
			return h, nil, fmt.Errorf("%s:%d: not an asciicast event [time, type, data]", path, n)
		}
		at, ok1 := raw[0].(float64)
		kind, ok2 := raw[1].(string)
		data, ok3 := raw[2].(string)
		if !ok1 || !ok2 || !ok3 {
			return h, nil, fmt.Errorf("%s:%d: not an asciicast event [time, type, data]", path, n)
		}
		if kind == "o" {
			events = append(events, event{at: time.Duration(at * float64(time.Second)), data: data})
		}
	}
	return h, events, lines.Err()
}

// render turns an asciicast v2 file into an animated GIF.
func render(args []string) error {
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	in := fs.String("i", "", "the asciicast v2 file to read")
	out := fs.String("o", "", "the GIF to write")
	maxPause := fs.Duration("max-pause", 2500*time.Millisecond, "longest pause between frames (waits for builds are cut)")
	frameStep := fs.Duration("frame", 80*time.Millisecond, "output closer together than this makes one frame")
	fontSize := fs.Float64("font-size", 13, "font size in pixels")
	lastPNG := fs.String("last-png", "", "also write the last screen as a PNG, to look at one frame")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return errors.New("-i FILE.cast and -o FILE.gif are required")
	}
	h, events, err := readCast(*in)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("%s holds no output", *in)
	}
	r, err := newRasterizer(*fontSize)
	if err != nil {
		return err
	}
	term := vt10x.New(vt10x.WithSize(h.Width, h.Height))
	bounds := image.Rect(0, 0, h.Width*r.cellW+2*r.pad, h.Height*r.cellH+2*r.pad)
	anim := &gif.GIF{Config: image.Config{ColorModel: r.palette, Width: bounds.Dx(), Height: bounds.Dy()}}
	var prev *image.Paletted
	var prevAt time.Duration
	canvas := image.NewRGBA(bounds)
	for i := 0; i < len(events); {
		// One frame: the events of the next frameStep.
		at := events[i].at
		for ; i < len(events) && events[i].at-at < *frameStep; i++ {
			if _, err := term.Write([]byte(events[i].data)); err != nil {
				return fmt.Errorf("replay: %w", err)
			}
		}
		r.draw(canvas, term)
		frame := image.NewPaletted(bounds, r.palette)
		draw.Draw(frame, bounds, canvas, image.Point{}, draw.Src)
		if prev != nil {
			changed := diff(prev, frame)
			if changed.Empty() {
				continue // nothing visible changed: the previous frame simply lasts longer
			}
			anim.Delay[len(anim.Delay)-1] = centis(at-prevAt, *maxPause)
			anim.Image = append(anim.Image, frame.SubImage(changed).(*image.Paletted))
		} else {
			anim.Image = append(anim.Image, frame)
		}
		anim.Delay = append(anim.Delay, 0)
		anim.Disposal = append(anim.Disposal, gif.DisposalNone)
		prev, prevAt = frame, at
	}
	anim.Delay[len(anim.Delay)-1] = 400 // the last screen stays 4 s before the loop starts again
	if *lastPNG != "" {
		if err := writePNG(*lastPNG, prev); err != nil {
			return err
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := gif.EncodeAll(f, anim); err != nil {
		_ = f.Close()
		return fmt.Errorf("encode %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "demo render: %s, %dx%d, %d frames, %d KiB\n", *out, bounds.Dx(), bounds.Dy(),
		len(anim.Image), info.Size()/1024)
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		_ = f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// centis is d in hundredths of a second (a GIF's delay unit), at most max and at least 2.
func centis(d, limit time.Duration) int {
	d = min(d, limit)
	return max(int(d/(10*time.Millisecond)), 2)
}

// diff returns the smallest rectangle outside which a and b are equal.
func diff(a, b *image.Paletted) image.Rectangle {
	r := image.Rectangle{}
	bounds := a.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		rowA := a.Pix[(y-bounds.Min.Y)*a.Stride : (y-bounds.Min.Y)*a.Stride+bounds.Dx()]
		rowB := b.Pix[(y-bounds.Min.Y)*b.Stride : (y-bounds.Min.Y)*b.Stride+bounds.Dx()]
		for x := range rowA {
			if rowA[x] != rowB[x] {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// rasterizer draws a terminal screen with Go Mono into cells of a fixed size.
type rasterizer struct {
	regular, bold font.Face
	cellW, cellH  int
	ascent, pad   int
	palette       color.Palette
}

func newRasterizer(size float64) (*rasterizer, error) {
	face := func(ttf []byte) (font.Face, error) {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, err
		}
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	regular, err := face(gomono.TTF)
	if err != nil {
		return nil, fmt.Errorf("load Go Mono: %w", err)
	}
	bold, err := face(gomonobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("load Go Mono Bold: %w", err)
	}
	adv, _ := regular.GlyphAdvance('M')
	m := regular.Metrics()
	r := &rasterizer{regular: regular, bold: bold, cellW: adv.Ceil(), cellH: int(math.Ceil(size * 1.3)),
		ascent: m.Ascent.Ceil(), pad: 10}
	// The palette: the default colours, the ANSI ones, and blends of each with the background for anti-aliased
	// edges (a GIF has at most 256 colours; a frame is mapped to the nearest).
	r.palette = color.Palette{defaultBG, defaultFG}
	bases := append([]color.RGBA{defaultFG}, ansi[:]...)
	r.palette = append(r.palette, toColors(ansi[:])...)
	for _, c := range bases {
		for _, t := range []float64{0.2, 0.4, 0.6, 0.8} {
			r.palette = append(r.palette, blend(defaultBG, c, t))
		}
	}
	return r, nil
}

func toColors(cs []color.RGBA) []color.Color {
	out := make([]color.Color, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

func blend(a, b color.RGBA, t float64) color.RGBA {
	mix := func(x, y uint8) uint8 { return uint8(float64(x)*(1-t) + float64(y)*t + 0.5) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// rgb maps a vt10x colour to RGB: the defaults, the 16 ANSI colours, then xterm's 6x6x6 cube and grey ramp.
func rgb(c vt10x.Color, fg bool, bold bool) color.RGBA {
	switch {
	case c == vt10x.DefaultFG || (c >= vt10x.DefaultFG && fg):
		return defaultFG
	case c >= vt10x.DefaultFG:
		return defaultBG
	case c < 8 && bold && fg:
		return ansi[c+8] // bold shows the bright colour, as most terminals do
	case c < 16:
		return ansi[c]
	case c < 232:
		i := int(c) - 16
		level := func(v int) uint8 {
			if v == 0 {
				return 0
			}
			return uint8(55 + 40*v)
		}
		return color.RGBA{level(i / 36), level(i / 6 % 6), level(i % 6), 0xff}
	case c < 256:
		g := uint8(8 + 10*(int(c)-232))
		return color.RGBA{g, g, g, 0xff}
	default:
		return defaultFG
	}
}

func (r *rasterizer) draw(dst *image.RGBA, term vt10x.Terminal) {
	term.Lock()
	defer term.Unlock()
	draw.Draw(dst, dst.Bounds(), image.NewUniform(defaultBG), image.Point{}, draw.Src)
	cols, rows := term.Size()
	cur := term.Cursor()
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			g := term.Cell(x, y)
			bold := g.Mode&attrBold != 0
			fg, bg := rgb(g.FG, true, bold), rgb(g.BG, false, false)
			if g.Mode&attrReverse != 0 {
				fg, bg = bg, fg
			}
			if term.CursorVisible() && x == cur.X && y == cur.Y {
				fg, bg = defaultBG, defaultFG
			}
			cell := image.Rect(r.pad+x*r.cellW, r.pad+y*r.cellH, r.pad+(x+1)*r.cellW, r.pad+(y+1)*r.cellH)
			if bg != defaultBG {
				draw.Draw(dst, cell, image.NewUniform(bg), image.Point{}, draw.Src)
			}
			if g.Char != ' ' && g.Char != 0 {
				face := r.regular
				if bold {
					face = r.bold
				}
				d := font.Drawer{Dst: dst, Src: image.NewUniform(fg), Face: face,
					Dot: fixed.P(cell.Min.X, cell.Min.Y+r.ascent+(r.cellH-r.ascent)/4)}
				d.DrawString(string(g.Char))
			}
			if g.Mode&attrUnderline != 0 {
				draw.Draw(dst, image.Rect(cell.Min.X, cell.Max.Y-2, cell.Max.X, cell.Max.Y-1), image.NewUniform(fg),
					image.Point{}, draw.Src)
			}
		}
	}
}
