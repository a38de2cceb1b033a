//! Live capture on a headless Wayland desktop through the real ScreenCast portal (Linux).
//!
//! Each test starts its own desktop (see the `shotclock-testdesktop` crate: mutter, PipeWire, WirePlumber,
//! the real xdg-desktop-portal frontend and a test backend that hands out mutter's streams).
//! A missing component fails the test with the package to install; nothing is skipped.
//! The desktops are heavy (one compositor each), so the tests take turns.
//!
//! 1. A known colour painted on mutter's monitor arrives as a thumbnail of that mean colour; a
//!    fine text pattern comes out blurred; no file is written under the runtime, home and
//!    temporary directories (watched with inotify) while capturing; the session closes; a
//!    second session with the restore token reaches the backend as a restored grant (no
//!    dialog) and hands out the token to keep for next time.
//! 2. A declined dialog is `consent_refused` and no screenshot.
//! 3. No portal on the bus is `portal_missing`; a portal without ScreenCast is
//!    `no_screencast`.
//! 4. A stream that offers only DMA-BUF buffers fails closed (`dmabuf_only`).

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod checks;

use checks::{grey, laplacian_variance};

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use shotclock_capture::{
    CaptureError, CaptureOptions, Capturer, Health, Pipeline, PortalOptions, PortalSource,
    ScreenSource, Thumbnail, decode_thumbnail,
};
use shotclock_testdesktop::{self as wayland, Desktop, Portal, READY};

static ONE_DESKTOP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn options(desktop: &Desktop, token: Option<String>) -> PortalOptions {
    PortalOptions {
        restore_token: token,
        bus_address: Some(desktop.bus.clone()),
    }
}

fn mean_rgb(thumb: &Thumbnail) -> [f64; 3] {
    let img = decode_thumbnail(&thumb.webp).unwrap();
    let n = f64::from(img.width() * img.height());
    std::array::from_fn(|c| img.pixels().map(|p| f64::from(p[c])).sum::<f64>() / n)
}

/// Watches directories for any file written (inotifywait, package inotify-tools).
struct FileWatch {
    child: std::process::Child,
    events: std::sync::mpsc::Receiver<String>,
}

impl FileWatch {
    fn start(recursive: &[std::path::PathBuf], flat: &[std::path::PathBuf]) -> FileWatch {
        let (tx, events) = std::sync::mpsc::channel();
        let mut child = Command::new("inotifywait")
            .args(["-m", "-q", "--format", "%w%f %e", "-e"])
            .arg("create,close_write,moved_to,modify")
            .args(["--fromfile", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("inotifywait (package inotify-tools) is needed: {e}"));
        // --fromfile cannot mix recursive and flat watches; watch each recursive tree's
        // directories explicitly instead.
        let mut list = String::new();
        for root in recursive {
            let mut stack = vec![root.clone()];
            while let Some(d) = stack.pop() {
                list.push_str(&format!("{}\n", d.display()));
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
        }
        for d in flat {
            list.push_str(&format!("{}\n", d.display()));
        }
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(list.as_bytes())
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // inotifywait prints "Watches established." on stderr when ready (even with -q? no:
        // -q hides it), so ask it with a marker file that must be reported.
        let marker = flat
            .first()
            .or(recursive.first())
            .unwrap()
            .join(".shotclock-watch-marker");
        let watch = FileWatch { child, events };
        let seen = wayland::poll("inotifywait to report a marker file", READY, || {
            std::fs::write(&marker, b"x").unwrap();
            watch
                .events
                .recv_timeout(Duration::from_millis(100))
                .ok()
                .filter(|l| l.contains(".shotclock-watch-marker"))
        });
        assert!(seen.contains("marker"));
        std::fs::remove_file(&marker).unwrap();
        // Drain the marker's own events.
        std::thread::sleep(Duration::from_millis(200));
        while watch.events.try_recv().is_ok() {}
        watch
    }

    /// Stops watching and returns every event reported, ignoring `ignore` substrings.
    fn finish(mut self, ignore: &[&str]) -> Vec<String> {
        // Give inotify's queue a moment to deliver the last events of the capture.
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.events
            .try_iter()
            .filter(|l| !ignore.iter().any(|i| l.contains(i)))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_capture_colour_blur_restore_and_no_files() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let mut desktop = Desktop::start(Portal::Backend("grant"));
    desktop.paint(&["solid", "51", "102", "204"]);

    let (source, grant) = PortalSource::open(options(&desktop, None))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "portal open failed: {e}\nportal log: {}",
                desktop.log("xdg-desktop-portal")
            )
        });
    let select = desktop.backend_event("select_sources", 0);
    assert_eq!(select["types"], 1, "monitors only: {select}");
    assert_eq!(select["multiple"], true, "{select}");
    assert_eq!(select["persist_mode"], 2, "persist until revoked: {select}");
    assert_eq!(select["cursor_mode"], 1, "cursor hidden: {select}");
    let start = desktop.backend_event("start", 0);
    assert_eq!(start["dialog"], true, "first run asks: {start}");
    let first_token = grant
        .restore_token
        .clone()
        .expect("the portal persisted the grant and returned a restore token");
    assert_eq!(grant.monitors.len(), 1);
    assert_eq!(
        (grant.monitors[0].width, grant.monitors[0].height),
        (1280, 720)
    );

    // 1. Known colour (poll: the window may still be mapping when the stream starts).
    let mut capturer = Capturer::new(Pipeline::default(), source);
    let mut last = None;
    let deadline = std::time::Instant::now() + READY;
    let thumb = loop {
        let t = capturer
            .capture()
            .await
            .unwrap_or_else(|e| panic!("portal capture: {e}"));
        let m = mean_rgb(&t);
        // The window is mapped before it covers the whole screen: wait for both the colour and
        // one colour everywhere.
        if t.health == Health::SingleColour
            && m.iter()
                .zip([51.0, 102.0, 204.0])
                .all(|(g, w)| (g - w).abs() <= 6.0)
        {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the thumbnail never showed #3366cc everywhere: last mean {last:?}"
        );
        last = Some(m);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((thumb.width, thumb.height), (640, 360));
    assert_eq!(thumb.health, Health::SingleColour);

    // 2. Text-like pattern: one grab, processed blurred and unblurred.
    let (pipeline, mut source) = capturer.into_parts().unwrap();
    drop(pipeline);
    desktop.paint(&["text"]);
    let frames = tokio::task::block_in_place(|| {
        wayland::poll("the text pattern on screen", READY, || {
            let frames = source.capture_all().unwrap();
            let t = Pipeline::new(CaptureOptions::default().with_blur(false))
                .process(frames.clone())
                .unwrap();
            let img = decode_thumbnail(&t.webp).unwrap();
            let v = laplacian_variance(&grey(&img), t.width as usize, t.height as usize);
            (v > 50.0).then_some(frames)
        })
    });
    let sharp = Pipeline::new(CaptureOptions::default().with_blur(false))
        .process(frames.clone())
        .unwrap();
    let blurred = Pipeline::default().process(frames).unwrap();
    let (w, h) = (sharp.width as usize, sharp.height as usize);
    let v_sharp = laplacian_variance(&grey(&decode_thumbnail(&sharp.webp).unwrap()), w, h);
    let v_blur = laplacian_variance(&grey(&decode_thumbnail(&blurred.webp).unwrap()), w, h);
    println!("Laplacian variance: unblurred {v_sharp:.1}, blurred {v_blur:.2}");
    assert!(
        v_sharp > 50.0,
        "the pattern should be visible unblurred: {v_sharp}"
    );
    assert!(
        v_blur <= 0.05 * v_sharp,
        "blur too weak: Laplacian variance {v_blur} vs {v_sharp} unblurred"
    );

    // 3. Nothing is written while capturing: the desktop's private runtime, home and temp
    //    trees are watched whole; the shared /tmp (other programs write there) is watched for
    //    anything as large as a frame.
    let frame_bytes = 1280 * 720 * 4;
    let watch = FileWatch::start(
        &[desktop.runtime_dir(), desktop.home(), desktop.tmp()],
        &[std::env::temp_dir()],
    );
    let mut capturer = Capturer::new(Pipeline::default(), source);
    let mut took = Vec::new();
    for _ in 0..5 {
        let moment = std::time::Instant::now();
        let t = capturer.capture().await.unwrap();
        took.push(moment.elapsed());
        assert_eq!(t.health, Health::Ok);
    }
    took.sort();
    println!(
        "portal path, capture moment to thumbnail (1280x720): median {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
    let (_, source) = capturer.into_parts().unwrap();
    let shared_tmp = std::env::temp_dir();
    let written: Vec<String> = watch
        .finish(&[])
        .into_iter()
        .filter(|event| {
            let path = event.rsplit_once(' ').map_or(event.as_str(), |(p, _)| p);
            let path = std::path::Path::new(path);
            path.parent() != Some(shared_tmp.as_path())
                || std::fs::metadata(path).is_ok_and(|m| m.len() >= frame_bytes)
        })
        .collect();
    assert!(
        written.is_empty(),
        "files written during capture: {written:?}"
    );

    // 4. Closing ends the session; the restore token restores the grant without a dialog.
    let seen = desktop.backend_events().len();
    source.close().await;
    desktop.backend_event("session_closed", seen);
    let seen = desktop.backend_events().len();
    let (again, grant2) = PortalSource::open(options(&desktop, Some(first_token.clone())))
        .await
        .unwrap();
    let start = desktop.backend_event("start", seen);
    assert_eq!(
        start["dialog"], false,
        "the restore token restores the grant: {start}"
    );
    assert!(start["restored_grant"].is_string(), "{start}");
    // The token in the answer is the one to keep (the spec makes tokens single-use; this
    // frontend version hands the same value back for a restored grant).
    assert!(
        grant2.restore_token.is_some(),
        "a restore token for the next session"
    );
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_dialog_is_consent_refused_and_no_screenshot() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let desktop = Desktop::start(Portal::Backend("refuse"));
    let err = PortalSource::open(options(&desktop, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CaptureError::ConsentRefused(_)),
        "{err:?}\nportal log: {}",
        desktop.log("xdg-desktop-portal")
    );
    assert_eq!(err.health(), Health::ConsentRefused);
    assert_eq!(err.health().code(), "consent_refused");
    desktop.backend_event("refused", 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_portal_or_screencast_fails_closed() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let desktop = Desktop::start(Portal::None);
    let err = PortalSource::open(options(&desktop, None))
        .await
        .unwrap_err();
    assert!(matches!(err, CaptureError::PortalMissing(_)), "{err:?}");
    assert_eq!(err.health().code(), "portal_missing");
    drop(desktop);

    let desktop = Desktop::start(Portal::WithoutScreenCast);
    let err = PortalSource::open(options(&desktop, None))
        .await
        .unwrap_err();
    assert!(matches!(err, CaptureError::NoScreenCast(_)), "{err:?}");
    assert_eq!(err.health().code(), "no_screencast");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmabuf_only_stream_fails_closed() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let mut desktop = Desktop::start_base();
    let producer = dmabuf::Producer::start(&desktop.runtime_dir().join("pipewire-0"));
    desktop.start_portal(
        Portal::Backend("dmabuf"),
        &[("SC_DMABUF_NODE", producer.node_id.to_string())],
    );
    let (mut source, _grant) = PortalSource::open(options(&desktop, None)).await.unwrap();
    let result = tokio::task::block_in_place(|| source.capture_all());
    let err = result.unwrap_err();
    assert!(matches!(err, CaptureError::DmabufOnly(_)), "{err:?}");
    assert_eq!(err.health().code(), "dmabuf_only");
    source.close().await;
    drop(producer);
}

/// A PipeWire video source that offers its frames only as DMA-BUF buffers, like a compositor
/// on a GPU that cannot (or will not) hand out shared memory.
mod dmabuf {
    use std::io::Cursor;
    use std::os::unix::net::UnixStream;
    use std::path::Path;
    use std::sync::mpsc;

    use pipewire as pw;
    use pw::spa;
    use pw::spa::param::ParamType;
    use pw::spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use pw::spa::param::video::VideoFormat;
    use pw::spa::pod::serialize::PodSerializer;
    use pw::spa::pod::{
        ChoiceValue, Object, Pod, Property, PropertyFlags, Value, object, property,
    };
    use pw::spa::utils::{
        Choice, ChoiceEnum, ChoiceFlags, Direction, Fraction, Rectangle, SpaTypes,
    };
    use pw::stream::{StreamFlags, StreamRc, StreamState};

    pub struct Producer {
        pub node_id: u32,
        quit: pw::channel::Sender<()>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    fn bytes(value: Value) -> Vec<u8> {
        PodSerializer::serialize(Cursor::new(Vec::new()), &value)
            .unwrap()
            .0
            .into_inner()
    }

    impl Producer {
        pub fn start(socket: &Path) -> Producer {
            let stream_fd = UnixStream::connect(socket).unwrap();
            let (id_tx, id_rx) = mpsc::channel();
            let (quit, quit_rx) = pw::channel::channel::<()>();
            let thread = std::thread::spawn(move || {
                pw::init();
                let mainloop = pw::main_loop::MainLoopRc::new(None).unwrap();
                let context = pw::context::ContextRc::new(&mainloop, None).unwrap();
                let core = context.connect_fd_rc(stream_fd.into(), None).unwrap();
                let stream = StreamRc::new(
                    core,
                    "dmabuf-only-source",
                    pw::properties::properties! {
                        *pw::keys::MEDIA_CLASS => "Video/Source",
                        *pw::keys::MEDIA_TYPE => "Video",
                        *pw::keys::MEDIA_CATEGORY => "Capture",
                    },
                )
                .unwrap();
                let _listener = stream
                    .add_local_listener_with_user_data(Some(id_tx))
                    .state_changed(|stream, tx, _, new| {
                        if new == StreamState::Paused
                            && let Some(tx) = tx.take()
                        {
                            let _ = tx.send(stream.node_id());
                        }
                    })
                    .register()
                    .unwrap();
                let format = bytes(Value::Object(object!(
                    SpaTypes::ObjectParamFormat,
                    ParamType::EnumFormat,
                    property!(FormatProperties::MediaType, Id, MediaType::Video),
                    property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
                    property!(FormatProperties::VideoFormat, Id, VideoFormat::BGRx),
                    property!(
                        FormatProperties::VideoSize,
                        Rectangle,
                        Rectangle {
                            width: 64,
                            height: 64
                        }
                    ),
                    property!(
                        FormatProperties::VideoFramerate,
                        Fraction,
                        Fraction { num: 30, denom: 1 }
                    ),
                )));
                let dmabuf = 1i32 << spa::sys::SPA_DATA_DmaBuf;
                let buffers = bytes(Value::Object(Object {
                    type_: spa::sys::SPA_TYPE_OBJECT_ParamBuffers,
                    id: spa::sys::SPA_PARAM_Buffers,
                    properties: vec![Property {
                        key: spa::sys::SPA_PARAM_BUFFERS_dataType,
                        flags: PropertyFlags::empty(),
                        value: Value::Choice(ChoiceValue::Int(Choice(
                            ChoiceFlags::empty(),
                            ChoiceEnum::Flags {
                                default: dmabuf,
                                flags: vec![dmabuf],
                            },
                        ))),
                    }],
                }));
                let mut params = [
                    Pod::from_bytes(&format).unwrap(),
                    Pod::from_bytes(&buffers).unwrap(),
                ];
                stream
                    .connect(
                        Direction::Output,
                        None,
                        StreamFlags::DRIVER | StreamFlags::ALLOC_BUFFERS,
                        &mut params,
                    )
                    .unwrap();
                let _attached = quit_rx.attach(mainloop.loop_(), {
                    let mainloop = mainloop.clone();
                    move |()| mainloop.quit()
                });
                mainloop.run();
            });
            let node_id = id_rx
                .recv_timeout(super::READY)
                .expect("the DMA-BUF-only source got a PipeWire node");
            Producer {
                node_id,
                quit,
                thread: Some(thread),
            }
        }
    }

    impl Drop for Producer {
        fn drop(&mut self) {
            let _ = self.quit.send(());
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Mean colour of the thumbnail inside `p`, 3 px in from its edges (the blur mixes borders).
fn region_mean(img: &image::RgbImage, p: &shotclock_capture::Placement) -> [f64; 3] {
    let (x0, y0) = (p.x + 3, p.y + 3);
    let (x1, y1) = (p.x + p.width - 3, p.y + p.height - 3);
    let mut sum = [0.0; 3];
    let mut n = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            let px = img.get_pixel(x, y);
            for c in 0..3 {
                sum[c] += f64::from(px[c]);
            }
            n += 1.0;
        }
    }
    sum.map(|s| s / n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_monitors_are_two_streams_composed_where_the_portal_places_them() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let mut desktop =
        Desktop::start_with_monitors(Portal::Backend("grant"), &["1280x720", "800x600"]);
    desktop.paint(&["solid", "51", "102", "204"]);
    let (source, grant) = PortalSource::open(options(&desktop, None))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "portal open failed: {e}\nbackend: {:?}",
                desktop.backend_events()
            )
        });
    // One stream per monitor, each where mutter (through the portal) placed it. The backend's
    // log has the streams in the order it set them up, which need not be the order of the
    // portal's answer: the two are compared as sets.
    let by_place = |r: &shotclock_capture::Rect| (r.x, r.y, r.width, r.height);
    let mut reported: Vec<shotclock_capture::Rect> = desktop
        .backend_events()
        .into_iter()
        .filter(|e| e["event"] == "stream")
        .map(|e| {
            let n = |v: &serde_json::Value| v.as_i64().unwrap();
            shotclock_capture::Rect::new(
                n(&e["position"][0]) as i32,
                n(&e["position"][1]) as i32,
                n(&e["size"][0]) as u32,
                n(&e["size"][1]) as u32,
            )
        })
        .collect();
    reported.sort_by_key(by_place);
    let mut granted = grant.monitors.clone();
    granted.sort_by_key(by_place);
    assert_eq!(granted, reported, "the portal's positions are kept");
    let mut sizes: Vec<(u32, u32)> = grant.monitors.iter().map(|r| (r.width, r.height)).collect();
    sizes.sort();
    assert_eq!(sizes, [(800, 600), (1280, 720)]);
    let (a, b) = (grant.monitors[0], grant.monitors[1]);
    assert!(
        a.x + a.width as i32 <= b.x || b.x + b.width as i32 <= a.x || a.y != b.y,
        "two separate monitors: {a:?} {b:?}"
    );

    // The thumbnail is the composite of both, laid out by those positions: the painted monitor
    // shows the colour in its region, the other one does not.
    let layout = shotclock_capture::layout::plan(&grant.monitors, 640).unwrap();
    let mut capturer = Capturer::new(Pipeline::default(), source);
    let deadline = std::time::Instant::now() + READY;
    let mut last = Vec::new();
    loop {
        let t = capturer.capture().await.unwrap();
        assert_eq!((t.width, t.height), (layout.width, layout.height));
        let img = decode_thumbnail(&t.webp).unwrap();
        let means: Vec<[f64; 3]> = layout
            .placements
            .iter()
            .map(|p| region_mean(&img, p))
            .collect();
        let painted = |m: &[f64; 3]| {
            m.iter()
                .zip([51.0, 102.0, 204.0])
                .all(|(g, w)| (g - w).abs() <= 6.0)
        };
        if means.iter().filter(|m| painted(m)).count() == 1 {
            println!(
                "two monitors {:?} → {}x{} thumbnail, region means {means:?}",
                grant.monitors, t.width, t.height
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exactly one monitor's region should show #3366cc: last means {last:?}"
        );
        last = means;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, source) = capturer.into_parts().unwrap();
    source.close().await;
}

/// A token the desktop no longer knows (the user revoked the grant in the desktop's settings):
/// the portal shows its dialog again; declined, the token is forgotten and, once the refusal
/// is cleared ("Ask again"), the source is back to first-run consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_is_forgotten_and_goes_back_to_asking() {
    use shotclock_capture::{Consent, SourceChoice, SystemSource, TokenSink};
    use std::sync::{Arc, Mutex};
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let desktop = Desktop::start(Portal::Backend("refuse"));
    let tokens: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let kept = tokens.clone();
    let sink: TokenSink = Arc::new(move |t: Option<&str>| {
        kept.lock().unwrap().push(t.map(str::to_owned));
    });
    let mut source = SystemSource::with_choice(
        SourceChoice::for_linux(Some("wayland"), None),
        Some("0b5e7c2a-4d1f-4e8a-9c3b-7f2d6e1a5b90".into()),
        sink,
        Some(desktop.bus.clone()),
    );
    assert_eq!(source.consent(), Consent::Granted, "a stored grant");
    let err = tokio::task::block_in_place(|| source.prepare()).unwrap_err();
    assert!(matches!(err, CaptureError::ConsentRefused(_)), "{err:?}");
    let start = desktop.backend_event("start", 0);
    assert_eq!(
        start["dialog"], true,
        "an unknown token restores nothing: {start}"
    );
    assert_eq!(source.consent(), Consent::Refused);
    assert_eq!(
        *tokens.lock().unwrap(),
        vec![None],
        "the stale token is forgotten"
    );
    // Kept until cleared: no dialog at every capture moment.
    let again = tokio::task::block_in_place(|| source.capture_all()).unwrap_err();
    assert!(matches!(again, CaptureError::ConsentRefused(_)));
    assert_eq!(
        desktop
            .backend_events()
            .iter()
            .filter(|e| e["event"] == "start")
            .count(),
        1
    );
    tokio::task::block_in_place(|| source.release());
    assert_eq!(
        source.consent(),
        Consent::NotAsked,
        "back to first-run consent"
    );
}
