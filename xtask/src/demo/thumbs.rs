//! Demo screenshots made the way the app makes them: full-size desktop frames (one per monitor)
//! through the real capture [`Pipeline`] — layout, downscale, blur, WebP — in memory.
//!
//! A frame is a synthetic desktop ([`synthetic::desktop_frame`]) with the window of what the
//! person works on painted over it: a design tool, a web page, a document or a video call,
//! chosen by the task. The window's place and colours are fixed for an entry (seeded by it) and
//! its content moves on from shot to shot (the artboard fills up, the page scrolls, the call's
//! tiles change), so after the blur an entry's screenshots look alike but not identical, and
//! different entries look different.

use shotclock_capture::synthetic::{self, Rng};
use shotclock_capture::{CaptureError, Pipeline};

/// Size of each monitor in the synthetic desktop.
const MONITOR: (u32, u32) = (1920, 1080);

/// What is on screen during an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    DesignTool,
    WebPage,
    Document,
    VideoCall,
}

impl Scene {
    /// The scene of a task (a description index), varied per person.
    pub fn of(person: usize, task: usize) -> Self {
        match (person + task) % 4 {
            0 => Scene::DesignTool,
            1 => Scene::WebPage,
            2 => Scene::Document,
            _ => Scene::VideoCall,
        }
    }
}

/// The screenshot number `shot` of an entry: `monitors` monitors side by side, the entry's
/// `scene` on the first, a web page (or a document, beside a web page) on the others. Returns
/// the WebP bytes.
pub fn render(
    pipeline: &mut Pipeline,
    monitors: u32,
    scene: Scene,
    entry_seed: u64,
    shot: u32,
) -> Result<Vec<u8>, CaptureError> {
    let (w, h) = MONITOR;
    let mut frames = Vec::new();
    for m in 0..monitors.max(1) {
        let x = i32::try_from(m * w).unwrap_or(i32::MAX);
        let seed = entry_seed ^ (u64::from(shot) << 20) ^ (u64::from(m) << 40);
        let mut frame = synthetic::desktop_frame(x, 0, w, h, seed)?;
        let mut canvas = Canvas {
            data: frame.data_mut(),
            width: w,
            height: h,
        };
        let mut layout = Rng::new(entry_seed.wrapping_add(u64::from(m)));
        let mut moment = Rng::new(seed);
        let scene = match (m, scene) {
            (0, scene) => scene,
            (_, Scene::WebPage) => Scene::Document,
            _ => Scene::WebPage,
        };
        paint(&mut canvas, scene, &mut layout, &mut moment, shot);
        frames.push(frame);
    }
    Ok(pipeline.process(frames)?.webp)
}

/// An RGBA frame to paint on.
struct Canvas<'a> {
    data: &'a mut [u8],
    width: u32,
    height: u32,
}

impl Canvas<'_> {
    /// A filled rectangle, clipped to the frame (row copies: cheap even unoptimised).
    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, rgb: [u8; 3]) {
        let x1 = x.saturating_add(w).min(self.width);
        let y1 = y.saturating_add(h).min(self.height);
        if x >= x1 || y >= y1 {
            return;
        }
        let row = [rgb[0], rgb[1], rgb[2], 255].repeat((x1 - x) as usize);
        for r in y..y1 {
            let start = (r as usize * self.width as usize + x as usize) * 4;
            if let Some(dst) = self.data.get_mut(start..start + row.len()) {
                dst.copy_from_slice(&row);
            }
        }
    }

    /// Lines of "text" (bars of varying length) in a column: they read as text once blurred.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, rng: &mut Rng, x: u32, y: u32, w: u32, h: u32, line: u32, ink: [u8; 3]) {
        let mut ty = y;
        while ty + line <= y + h {
            let len = w * (45 + rng.below(55)) / 100;
            self.rect(x, ty, len, line / 2, ink);
            ty += line;
        }
    }
}

/// A vivid colour.
fn colour(rng: &mut Rng) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 8] = [
        [229, 72, 77],
        [245, 166, 35],
        [48, 164, 108],
        [0, 145, 255],
        [142, 78, 198],
        [18, 165, 148],
        [214, 64, 159],
        [255, 197, 61],
    ];
    PALETTE[rng.below(PALETTE.len() as u32) as usize]
}

fn paint(c: &mut Canvas<'_>, scene: Scene, layout: &mut Rng, moment: &mut Rng, shot: u32) {
    // The app's window: where it stands is the entry's, with a little drift between shots.
    let (x, y) = (
        80 + layout.below(260) + moment.below(12),
        70 + layout.below(90) + moment.below(8),
    );
    let (w, h) = (1300 + layout.below(300), 820 + layout.below(120));
    let accent = colour(layout);
    match scene {
        Scene::DesignTool => {
            c.rect(x, y, w, h, [44, 44, 48]);
            c.rect(x, y, w, 36, [30, 30, 33]);
            c.text(moment, x + 12, y + 52, 200, h - 64, 22, [170, 170, 175]);
            c.rect(x + w - 260, y + 36, 260, h - 36, [52, 52, 56]);
            c.text(
                layout,
                x + w - 245,
                y + 52,
                230,
                h - 64,
                26,
                [150, 150, 155],
            );
            // The artboard fills up as the entry goes on.
            let (ax, ay, aw, ah) = (x + 260, y + 80, w - 560, h - 140);
            c.rect(ax, ay, aw, ah, [250, 250, 250]);
            c.rect(ax, ay, aw, ah / 4, accent);
            let shapes = 2 + shot.min(10);
            for _ in 0..shapes {
                let sw = 80 + layout.below(aw / 3);
                let sh = 50 + layout.below(ah / 3);
                let sx = ax + layout.below(aw.saturating_sub(sw).max(1));
                let sy = ay + ah / 4 + layout.below((ah * 3 / 4).saturating_sub(sh).max(1));
                c.rect(sx, sy, sw, sh, colour(layout));
            }
            // The selection moves around.
            let sx = ax + moment.below(aw.saturating_sub(120).max(1));
            let sy = ay + moment.below(ah.saturating_sub(90).max(1));
            c.rect(sx, sy, 120, 3, [0, 145, 255]);
            c.rect(sx, sy + 87, 120, 3, [0, 145, 255]);
        }
        Scene::WebPage => {
            c.rect(x, y, w, h, [255, 255, 255]);
            c.rect(x, y, w, 40, [222, 225, 230]);
            c.rect(x + 120, y + 8, w / 2, 24, [255, 255, 255]);
            // Scrolled a bit further on each shot.
            let scroll = (shot * (60 + moment.below(80))) % 600;
            let top = y + 40;
            let hero = 360u32.saturating_sub(scroll);
            c.rect(x, top, w, hero, accent);
            let mut cy = top + hero + 30;
            let mut page = Rng::new(u64::from(scroll) ^ 0x5eed);
            while cy + 160 < y + h {
                c.rect(x + 80, cy, 420, 140, colour(layout));
                c.text(&mut page, x + 540, cy + 6, w - 640, 130, 24, [60, 60, 70]);
                cy += 180;
            }
        }
        Scene::Document => {
            c.rect(x, y, w, h, [236, 236, 240]);
            c.rect(x, y, w, 60, accent);
            let (px, pw) = (x + (w - 820) / 2, 820);
            c.rect(px, y + 80, pw, h - 80, [255, 255, 255]);
            let mut page = Rng::new(u64::from(shot) ^ 0xd0c);
            let mut cy = y + 120;
            while cy + 200 < y + h {
                c.rect(px + 70, cy, 300 + page.below(200), 14, [30, 30, 40]);
                c.text(
                    &mut page,
                    px + 70,
                    cy + 34,
                    pw - 140,
                    150,
                    20,
                    [90, 90, 100],
                );
                cy += 200;
            }
        }
        Scene::VideoCall => {
            c.rect(x, y, w, h, [24, 24, 28]);
            // Four participants; who is on camera changes between shots.
            let (tw, th) = ((w - 60) / 2, (h - 120) / 2);
            for i in 0..4u32 {
                let tx = x + 20 + (i % 2) * (tw + 20);
                let ty = y + 20 + (i / 2) * (th + 20);
                let on = moment.below(4) != 0;
                let bg = if on { colour(moment) } else { [60, 60, 66] };
                c.rect(tx, ty, tw, th, bg);
                c.rect(
                    tx + tw / 2 - 70,
                    ty + th / 2 - 70,
                    140,
                    140,
                    [235, 210, 190],
                );
            }
            c.rect(x + w / 2 - 160, y + h - 70, 320, 50, [60, 60, 66]);
            c.rect(x + w / 2 + 100, y + h - 62, 34, 34, [229, 72, 77]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shotclock_capture::decode_thumbnail;

    #[test]
    fn thumbnails_are_small_blurred_webp_and_differ_between_shots() {
        let mut pipeline = Pipeline::default();
        let one = render(&mut pipeline, 1, Scene::DesignTool, 42, 0).unwrap();
        let next = render(&mut pipeline, 1, Scene::DesignTool, 42, 1).unwrap();
        let two_screens = render(&mut pipeline, 2, Scene::WebPage, 42, 0).unwrap();
        assert_eq!(&one[..4], b"RIFF");
        assert_eq!(&one[8..12], b"WEBP");
        assert_ne!(one, next);
        assert!(one.len() < 20_000, "{} bytes", one.len());
        let single = decode_thumbnail(&one).unwrap();
        let double = decode_thumbnail(&two_screens).unwrap();
        assert_eq!((single.width(), single.height()), (640, 360));
        assert_eq!((double.width(), double.height()), (1280, 360));
    }

    #[test]
    fn every_scene_shows_up() {
        let scenes: std::collections::HashSet<_> = (0..4)
            .map(|task| format!("{:?}", Scene::of(1, task)))
            .collect();
        assert_eq!(scenes.len(), 4);
    }
}
