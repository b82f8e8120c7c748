package healthcard

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// QRPNG renders text as a QR code PNG (error correction level M, 4-module
// quiet zone, scale pixels per module; 0 means 4).
func QRPNG(text string, scale int) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	if scale > 0 {
		c.Scale = scale
	} else {
		c.Scale = 4
	}
	return c.PNG(), nil
}

// QRSVG renders text as a QR code SVG: one path of unit squares on a white
// background with a 4-module quiet zone, scaled by the viewer.
func QRSVG(text string) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	n := c.Size + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, n, n, n*4, n*4)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if c.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String()), nil
}
