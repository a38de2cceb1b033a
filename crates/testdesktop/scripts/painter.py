#!/usr/bin/python3
"""Paints a Wayland output for the capture tests: a fullscreen GTK window.

painter.py solid R G B   -> the whole window one colour
painter.py text          -> small black text-like lines on white (to check the blur)
Prints "drawn" once the first frame has been drawn.
"""
import random
import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gtk  # noqa: E402

mode = sys.argv[1]
said = [False]


def draw(_widget, cr):
    if mode == "solid":
        r, g, b = (int(v) / 255.0 for v in sys.argv[2:5])
        cr.set_source_rgb(r, g, b)
        cr.paint()
    else:
        cr.set_source_rgb(1, 1, 1)
        cr.paint()
        cr.set_source_rgb(0, 0, 0)
        rng = random.Random(42)
        # 5x7 pseudo-glyphs in 6 px cells, 11 px lines: like small UI text.
        glyphs = [[rng.randrange(32) | (1 << rng.randrange(5)) for _ in range(7)] for _ in range(26)]
        width, height = _widget.get_allocated_width(), _widget.get_allocated_height()
        for line in range(0, height // 11):
            x = 2
            while x + 6 <= width:
                if rng.randrange(7) == 0:
                    x += 6
                    continue
                g = glyphs[rng.randrange(26)]
                for gy, row in enumerate(g):
                    for gx in range(5):
                        if row & (1 << gx):
                            cr.rectangle(x + gx, line * 11 + 2 + gy, 1, 1)
                x += 6
        cr.fill()
    if not said[0]:
        said[0] = True
        print("drawn", flush=True)
    return False


win = Gtk.Window()
area = Gtk.DrawingArea()
area.connect("draw", draw)
win.add(area)
win.connect("destroy", Gtk.main_quit)
win.fullscreen()
win.show_all()
Gtk.main()
