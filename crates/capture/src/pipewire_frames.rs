//! Frames from PipeWire screencast streams, in memory only (Linux).
//!
//! Design: one thread owns a PipeWire main loop connected through the file descriptor the
//! ScreenCast portal handed out, with one input stream per monitor. The streams offer only
//! memory buffers (`MemFd`/`MemPtr`, mapped by PipeWire); a compositor that can only send
//! DMA-BUF frames cannot complete the buffer negotiation. PipeWire reports that failure on the
//! link, which a portal client may not see (the portal's remote shows it only its own
//! streams), so the stream just never receives a buffer: a stream that agreed a format but got
//! no buffer within the capture's wait is reported as [`CaptureError::DmabufOnly`]. A stream
//! that ends in an error before its first frame is reported the same way. There is no other
//! path to fall back to, and none writes a file.
//!
//! Each stream keeps the newest non-empty buffer dequeued (and hands every older one straight
//! back to the compositor), so a still desktop — a compositor sends frames only on damage —
//! can still be captured at any moment without copying anything between moments. At a capture
//! moment the owner sends a request over a PipeWire channel; the loop copies each held buffer
//! once into a [`Frame`] and answers. A stream that has not delivered its first frame yet makes
//! the request wait for it; the owner bounds that wait.
//!
//! Callbacks never panic (a panic cannot unwind through PipeWire's C code): shared state is
//! taken with `try_borrow_mut` and a busy state is skipped.
//!
//! Invariants: the held buffers belong to PipeWire's shared memory and are only read on the
//! loop thread; a buffer PipeWire removes is forgotten at once; a frame holds exactly
//! `width * height * 4` tightly packed bytes (rows are copied one by one, so a padded stride is
//! dropped). This module never writes to disk.
//!
//! Known gaps: cursor metadata and damage regions are ignored (the portal is asked to leave
//! the cursor out); formats other than 8-bit BGRx/BGRA/RGBx/RGBA are not offered.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::io::Cursor;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use pipewire as pw;
use pw::spa;
use pw::spa::param::ParamType;
use pw::spa::param::format::{FormatProperties, MediaSubtype, MediaType};
use pw::spa::param::format_utils;
use pw::spa::param::video::{VideoFormat, VideoInfoRaw};
use pw::spa::pod::serialize::PodSerializer;
use pw::spa::pod::{ChoiceValue, Object, Pod, Property, PropertyFlags, Value, object, property};
use pw::spa::utils::{Choice, ChoiceEnum, ChoiceFlags, Direction, Fraction, Rectangle, SpaTypes};
use pw::stream::{StreamFlags, StreamRc, StreamState};

use crate::{CaptureError, Frame, PixelLayout, Rect};

/// One monitor's stream as the portal described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSpec {
    /// The PipeWire node of the monitor's stream.
    pub node_id: u32,
    /// Where the monitor stands on the desktop (the portal's position and size); a zero width
    /// or height means "the stream's pixel size".
    pub bounds: Rect,
}

type Reply = mpsc::Sender<Result<Vec<Frame>, CaptureError>>;

enum Command {
    Grab(Reply),
    Quit,
}

/// The PipeWire side of a screencast: a loop thread holding the newest frame of each monitor.
pub struct PipewireFrames {
    commands: pw::channel::Sender<Command>,
    thread: Option<JoinHandle<()>>,
    monitors: usize,
    /// A stream agreed a format but never received a buffer (see the module docs).
    starved: Arc<AtomicBool>,
}

impl std::fmt::Debug for PipewireFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipewireFrames")
            .field("monitors", &self.monitors)
            .finish_non_exhaustive()
    }
}

impl PipewireFrames {
    /// Connects to PipeWire through `remote` (the portal's `OpenPipeWireRemote` descriptor)
    /// and starts one stream per monitor.
    ///
    /// Errors: `Backend` when PipeWire refuses the connection or a stream cannot be created.
    pub fn start(remote: OwnedFd, streams: Vec<StreamSpec>) -> Result<Self, CaptureError> {
        if streams.is_empty() {
            return Err(CaptureError::NoMonitor);
        }
        let monitors = streams.len();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), CaptureError>>();
        let (commands, receiver) = pw::channel::channel::<Command>();
        let starved = Arc::new(AtomicBool::new(false));
        let flag = starved.clone();
        let thread = std::thread::Builder::new()
            .name("shotclock-pipewire".into())
            .spawn(move || run_loop(remote, streams, receiver, ready_tx, flag))
            .map_err(|e| CaptureError::Backend(format!("cannot start the PipeWire thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(PipewireFrames {
                commands,
                thread: Some(thread),
                monitors,
                starved,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(CaptureError::Backend(
                    "the PipeWire thread ended while starting".into(),
                ))
            }
        }
    }

    /// Number of monitor streams.
    pub fn monitors(&self) -> usize {
        self.monitors
    }

    /// Copies the newest frame of every monitor, waiting at most `wait` for a stream that has
    /// not delivered its first frame yet.
    pub fn grab(&self, wait: Duration) -> Result<Vec<Frame>, CaptureError> {
        let (reply, answer) = mpsc::channel();
        if self.commands.send(Command::Grab(reply)).is_err() {
            return Err(CaptureError::Backend("the PipeWire loop has ended".into()));
        }
        match answer.recv_timeout(wait) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) if self.starved.load(Ordering::Relaxed) => {
                Err(CaptureError::DmabufOnly(format!(
                    "a stream agreed a format but no shared-memory buffer arrived within {} ms",
                    wait.as_millis()
                )))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(CaptureError::Backend(format!(
                "no frame from the compositor within {} ms",
                wait.as_millis()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(CaptureError::Backend("the PipeWire loop has ended".into()))
            }
        }
    }
}

impl Drop for PipewireFrames {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Quit);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Per-stream state, only touched on the loop thread.
struct Slot {
    bounds: Rect,
    stream: StreamRc,
    format: Option<(u32, u32, PixelLayout)>,
    held: *mut pw::sys::pw_buffer,
    frames: u64,
    failed: Option<String>,
}

struct Shared {
    slots: Vec<Slot>,
    pending: Vec<Reply>,
    starved: Arc<AtomicBool>,
}

impl Shared {
    /// Answers waiting requests once every stream has a frame, or fails them when a stream
    /// ended.
    fn answer(&mut self) {
        let starved = self
            .slots
            .iter()
            .any(|s| s.format.is_some() && s.frames == 0 && s.failed.is_none());
        self.starved.store(starved, Ordering::Relaxed);
        if self.pending.is_empty() {
            return;
        }
        if let Some(err) = self.failure() {
            for reply in self.pending.drain(..) {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        }
        if self
            .slots
            .iter()
            .any(|s| s.held.is_null() || s.format.is_none())
        {
            return;
        }
        let result = self
            .slots
            .iter()
            .map(copy_frame)
            .collect::<Result<Vec<_>, _>>();
        for reply in self.pending.drain(..) {
            let _ = reply.send(result.clone());
        }
    }

    fn failure(&self) -> Option<CaptureError> {
        self.slots.iter().find_map(|s| {
            s.failed.as_ref().map(|why| {
                if s.frames == 0 {
                    CaptureError::DmabufOnly(format!(
                        "the compositor's stream offers no memory-buffer frames ({why})"
                    ))
                } else {
                    CaptureError::Backend(format!("the screencast stream ended: {why}"))
                }
            })
        })
    }
}

fn run_loop(
    remote: OwnedFd,
    specs: Vec<StreamSpec>,
    receiver: pw::channel::Receiver<Command>,
    ready: mpsc::Sender<Result<(), CaptureError>>,
    starved: Arc<AtomicBool>,
) {
    let setup = || -> Result<_, CaptureError> {
        pw::init();
        let mainloop = pw::main_loop::MainLoopRc::new(None).map_err(pw_error)?;
        let context = pw::context::ContextRc::new(&mainloop, None).map_err(pw_error)?;
        let core = context.connect_fd_rc(remote, None).map_err(pw_error)?;
        let shared = Rc::new(RefCell::new(Shared {
            slots: Vec::new(),
            pending: Vec::new(),
            starved: starved.clone(),
        }));
        let mut listeners = Vec::new();
        for (index, spec) in specs.iter().enumerate() {
            let stream = StreamRc::new(
                core.clone(),
                "shotclock-capture",
                pw::properties::properties! {
                    *pw::keys::MEDIA_TYPE => "Video",
                    *pw::keys::MEDIA_CATEGORY => "Capture",
                    *pw::keys::MEDIA_ROLE => "Screen",
                },
            )
            .map_err(pw_error)?;
            shared.borrow_mut().slots.push(Slot {
                bounds: spec.bounds,
                stream: stream.clone(),
                format: None,
                held: std::ptr::null_mut(),
                frames: 0,
                failed: None,
            });
            listeners.push(listen(&stream, index, &shared)?);
            let format = serialize(enum_format())?;
            let mut params = [Pod::from_bytes(&format)
                .ok_or_else(|| CaptureError::Backend("invalid format pod".into()))?];
            stream
                .connect(
                    Direction::Input,
                    Some(spec.node_id),
                    StreamFlags::AUTOCONNECT | StreamFlags::MAP_BUFFERS,
                    &mut params,
                )
                .map_err(pw_error)?;
        }
        Ok((mainloop, context, core, shared, listeners))
    };
    let (mainloop, _context, _core, shared, _listeners) = match setup() {
        Ok(parts) => parts,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _attached = receiver.attach(mainloop.loop_(), {
        let shared = shared.clone();
        let mainloop = mainloop.clone();
        move |command| match command {
            Command::Grab(reply) => match shared.try_borrow_mut() {
                Ok(mut shared) => {
                    shared.pending.push(reply);
                    shared.answer();
                }
                Err(_) => {
                    let _ = reply.send(Err(CaptureError::Backend("PipeWire loop busy".into())));
                }
            },
            Command::Quit => mainloop.quit(),
        }
    });
    let _ = ready.send(Ok(()));
    mainloop.run();
    // Give the held buffers back before the streams go away (disconnecting calls back into
    // the listeners, so no borrow may be held then).
    let streams: Vec<StreamRc> = match shared.try_borrow_mut() {
        Ok(mut shared) => shared
            .slots
            .iter_mut()
            .map(|slot| {
                if !slot.held.is_null() {
                    // SAFETY: `held` was dequeued from this stream and not queued since.
                    unsafe { slot.stream.queue_raw_buffer(slot.held) };
                    slot.held = std::ptr::null_mut();
                }
                slot.stream.clone()
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    for stream in streams {
        let _ = stream.disconnect();
    }
}

fn listen(
    stream: &StreamRc,
    index: usize,
    shared: &Rc<RefCell<Shared>>,
) -> Result<pw::stream::StreamListener<()>, CaptureError> {
    let on_param = shared.clone();
    let on_state = shared.clone();
    let on_remove = shared.clone();
    let on_process = shared.clone();
    stream
        .add_local_listener_with_user_data(())
        .param_changed(move |stream, _, id, param| {
            let Some(param) = param else { return };
            if id != ParamType::Format.as_raw() {
                return;
            }
            let format = parse_format(param);
            let Ok(mut shared) = on_param.try_borrow_mut() else {
                return;
            };
            let Some(slot) = shared.slots.get_mut(index) else {
                return;
            };
            match format {
                Ok(format) => {
                    slot.format = Some(format);
                    match serialize(memory_buffers()) {
                        Ok(bytes) => {
                            if let Some(pod) = Pod::from_bytes(&bytes) {
                                let _ = stream.update_params(&mut [pod]);
                            }
                        }
                        Err(e) => slot.failed = Some(e.to_string()),
                    }
                }
                Err(why) => slot.failed = Some(why),
            }
            shared.answer();
        })
        .state_changed(move |_, _, _, new| {
            if let StreamState::Error(why) = new {
                let Ok(mut shared) = on_state.try_borrow_mut() else {
                    return;
                };
                if let Some(slot) = shared.slots.get_mut(index) {
                    slot.failed = Some(if why.is_empty() {
                        "stream error".into()
                    } else {
                        why
                    });
                }
                shared.answer();
            }
        })
        .remove_buffer(move |_, _, buffer| {
            let Ok(mut shared) = on_remove.try_borrow_mut() else {
                return;
            };
            if let Some(slot) = shared.slots.get_mut(index)
                && slot.held == buffer
            {
                slot.held = std::ptr::null_mut();
            }
        })
        .process(move |stream, _| {
            let Ok(mut shared) = on_process.try_borrow_mut() else {
                return;
            };
            let Some(slot) = shared.slots.get_mut(index) else {
                return;
            };
            loop {
                // SAFETY: dequeuing on the loop thread that owns the stream; the pointer is
                // either null or a buffer we now own until we queue it back.
                let buffer = unsafe { stream.dequeue_raw_buffer() };
                if buffer.is_null() {
                    break;
                }
                if has_pixels(buffer) {
                    if !slot.held.is_null() {
                        // SAFETY: `held` came from this stream and was not queued since.
                        unsafe { stream.queue_raw_buffer(slot.held) };
                    }
                    slot.held = buffer;
                    slot.frames += 1;
                } else {
                    // SAFETY: just dequeued from this stream.
                    unsafe { stream.queue_raw_buffer(buffer) };
                }
            }
            shared.answer();
        })
        .register()
        .map_err(pw_error)
}

/// True when the buffer carries a picture (compositors also send empty, metadata-only ones).
fn has_pixels(buffer: *mut pw::sys::pw_buffer) -> bool {
    // SAFETY: a dequeued, non-null pw_buffer points at a valid spa_buffer whose `datas` array
    // holds `n_datas` entries, each with a valid chunk pointer.
    unsafe {
        let spa = (*buffer).buffer;
        if spa.is_null() || (*spa).n_datas == 0 || (*spa).datas.is_null() {
            return false;
        }
        let data = &*(*spa).datas;
        !data.chunk.is_null() && (*data.chunk).size > 0 && !data.data.is_null()
    }
}

/// Copies a slot's held buffer into a tightly packed frame.
fn copy_frame(slot: &Slot) -> Result<Frame, CaptureError> {
    let Some((width, height, layout)) = slot.format else {
        return Err(CaptureError::Backend("stream without a format".into()));
    };
    let row = width as usize * 4;
    let mut pixels = Vec::with_capacity(row * height as usize);
    // SAFETY: `held` is a non-null buffer dequeued from this slot's stream and not queued back
    // (checked by the caller); MAP_BUFFERS mapped its memory at `data`, valid for `maxsize`
    // bytes; every read below is bounds-checked against `maxsize` first.
    unsafe {
        let spa = (*slot.held).buffer;
        let data = &*(*spa).datas;
        if data.type_ != spa::sys::SPA_DATA_MemFd && data.type_ != spa::sys::SPA_DATA_MemPtr {
            return Err(CaptureError::DmabufOnly(format!(
                "the compositor sent a buffer of type {} instead of shared memory",
                data.type_
            )));
        }
        let chunk = &*data.chunk;
        let stride = if chunk.stride > 0 {
            chunk.stride as usize
        } else {
            row
        };
        let offset = chunk.offset as usize;
        let needed = offset + stride * (height as usize - 1) + row;
        if stride < row || needed > data.maxsize as usize {
            return Err(CaptureError::InvalidFrame(format!(
                "{width}x{height} frame with stride {stride} does not fit a {} byte buffer",
                data.maxsize
            )));
        }
        let base = data.data.cast::<u8>().add(offset);
        for y in 0..height as usize {
            let line = std::slice::from_raw_parts(base.add(y * stride), row);
            pixels.extend_from_slice(line);
        }
    }
    let bounds = if slot.bounds.width == 0 || slot.bounds.height == 0 {
        Rect::new(slot.bounds.x, slot.bounds.y, width, height)
    } else {
        slot.bounds
    };
    Frame::new(bounds, width, height, layout, pixels)
}

fn parse_format(param: &Pod) -> Result<(u32, u32, PixelLayout), String> {
    let (media_type, media_subtype) =
        format_utils::parse_format(param).map_err(|e| format!("unreadable format: {e:?}"))?;
    if media_type != MediaType::Video || media_subtype != MediaSubtype::Raw {
        return Err("not a raw video format".into());
    }
    let mut info = VideoInfoRaw::new();
    info.parse(param)
        .map_err(|e| format!("unreadable video format: {e:?}"))?;
    let layout = match info.format() {
        VideoFormat::BGRx | VideoFormat::BGRA => PixelLayout::Bgra,
        VideoFormat::RGBx | VideoFormat::RGBA => PixelLayout::Rgba,
        other => return Err(format!("unsupported pixel format {other:?}")),
    };
    let size = info.size();
    if size.width == 0 || size.height == 0 {
        return Err("zero-sized video format".into());
    }
    Ok((size.width, size.height, layout))
}

/// The formats offered: 8-bit packed RGB variants, any size, no DMA-BUF modifiers.
fn enum_format() -> Value {
    Value::Object(object!(
        SpaTypes::ObjectParamFormat,
        ParamType::EnumFormat,
        property!(FormatProperties::MediaType, Id, MediaType::Video),
        property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
        property!(
            FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            VideoFormat::BGRx,
            VideoFormat::BGRx,
            VideoFormat::BGRA,
            VideoFormat::RGBx,
            VideoFormat::RGBA
        ),
        property!(
            FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            Rectangle {
                width: 1920,
                height: 1080
            },
            Rectangle {
                width: 1,
                height: 1
            },
            Rectangle {
                width: 16384,
                height: 16384
            }
        ),
        property!(
            FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            Fraction { num: 1, denom: 1 },
            Fraction { num: 0, denom: 1 },
            Fraction {
                num: 1000,
                denom: 1
            }
        ),
    ))
}

/// The buffer types accepted: shared memory only (`MemFd`, `MemPtr`), never DMA-BUF.
fn memory_buffers() -> Value {
    let types = (1i32 << spa::sys::SPA_DATA_MemFd) | (1i32 << spa::sys::SPA_DATA_MemPtr);
    Value::Object(Object {
        type_: spa::sys::SPA_TYPE_OBJECT_ParamBuffers,
        id: spa::sys::SPA_PARAM_Buffers,
        properties: vec![Property {
            key: spa::sys::SPA_PARAM_BUFFERS_dataType,
            flags: PropertyFlags::empty(),
            value: Value::Choice(ChoiceValue::Int(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Flags {
                    default: types,
                    flags: vec![types],
                },
            ))),
        }],
    })
}

fn serialize(value: Value) -> Result<Vec<u8>, CaptureError> {
    PodSerializer::serialize(Cursor::new(Vec::new()), &value)
        .map(|(cursor, _)| cursor.into_inner())
        .map_err(|e| CaptureError::Backend(format!("cannot build a PipeWire parameter: {e:?}")))
}

fn pw_error(e: pw::Error) -> CaptureError {
    CaptureError::Backend(format!("PipeWire: {e}"))
}
