#!/usr/bin/python3
"""A ScreenCast portal backend for the Wayland capture tests.

The real xdg-desktop-portal frontend loads it through a `.portal` file. It answers
CreateSession / SelectSources / Start with mutter's own ScreenCast streams (one per monitor
the headless mutter shows, with the position and size mutter reports) and returns restore data, so the frontend hands the client a
restore token. Every step is printed as one JSON line for the test to read.

SC_BACKEND_MODE:
  grant   - grant every request ("dialog": true unless the request carried restore data)
  refuse  - decline every request that does not carry restore data (the user said no)
  refuse_once - decline the first dialog, grant every later request (the user asked again)
  dmabuf  - grant, but hand out the PipeWire node in SC_DMABUF_NODE (a DMA-BUF-only stream)
"""
import json
import os

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MODE = os.environ.get("SC_BACKEND_MODE", "grant")
IMPL = "org.freedesktop.impl.portal.ScreenCast"
MUTTER = "org.gnome.Mutter.ScreenCast"

DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
sessions = {}
grants = [0]
refusals = []


def log(event, **fields):
    fields["event"] = event
    print(json.dumps(fields), flush=True)


class Session(dbus.service.Object):
    def __init__(self, path):
        super().__init__(bus, path)
        self.mutter = None
        self.restored = None

    @dbus.service.method("org.freedesktop.impl.portal.Session", in_signature="", out_signature="")
    def Close(self):
        log("session_closed")
        if self.mutter is not None:
            try:
                self.mutter.Stop(dbus_interface=MUTTER + ".Session")
            except dbus.DBusException as e:
                log("mutter_stop_failed", error=str(e))
        self.remove_from_connection()

    @dbus.service.signal("org.freedesktop.impl.portal.Session", signature="")
    def Closed(self):
        pass


def stream_result(found, ok):
    """Answers Start with `found`: a list of (node_id, position, size), one per monitor."""
    grants[0] += 1
    streams = dbus.Array(
        [dbus.Struct((dbus.UInt32(node_id), dbus.Dictionary({
            "position": dbus.Struct((dbus.Int32(pos[0]), dbus.Int32(pos[1]))),
            "size": dbus.Struct((dbus.Int32(size[0]), dbus.Int32(size[1]))),
            "source_type": dbus.UInt32(1)}, signature="sv")))
         for node_id, pos, size in found],
        signature="(ua{sv})")
    restore = dbus.Struct((dbus.String("shotclock-test"), dbus.UInt32(1),
                           dbus.String("grant-%d" % grants[0], variant_level=1)), signature="suv")
    ok(dbus.UInt32(0), dbus.Dictionary(
        {"streams": streams, "persist_mode": dbus.UInt32(2), "restore_data": restore}, signature="sv"))


def connectors():
    """mutter's monitors, by connector name (one per --virtual-monitor)."""
    config = bus.get_object("org.gnome.Mutter.DisplayConfig", "/org/gnome/Mutter/DisplayConfig")
    state = config.GetCurrentState(dbus_interface="org.gnome.Mutter.DisplayConfig")
    return [str(monitor[0][0]) for monitor in state[1]]


class ScreenCast(dbus.service.Object):
    @dbus.service.method(IMPL, in_signature="oosa{sv}", out_signature="ua{sv}")
    def CreateSession(self, handle, session_handle, app_id, options):
        sessions[str(session_handle)] = Session(session_handle)
        log("create_session", app_id=str(app_id))
        return (dbus.UInt32(0), dbus.Dictionary({}, signature="sv"))

    @dbus.service.method(IMPL, in_signature="oosa{sv}", out_signature="ua{sv}")
    def SelectSources(self, handle, session_handle, app_id, options):
        session = sessions[str(session_handle)]
        restore = options.get("restore_data")
        if restore is not None:
            session.restored = str(restore[2])
        log("select_sources", types=int(options.get("types", 0)),
            multiple=bool(options.get("multiple", False)),
            cursor_mode=int(options.get("cursor_mode", 0)),
            persist_mode=int(options.get("persist_mode", 0)),
            restored_grant=session.restored)
        return (dbus.UInt32(0), dbus.Dictionary({}, signature="sv"))

    @dbus.service.method(IMPL, in_signature="oossa{sv}", out_signature="ua{sv}",
                         async_callbacks=("ok", "err"))
    def Start(self, handle, session_handle, app_id, parent_window, options, ok, err):
        session = sessions[str(session_handle)]
        dialog = session.restored is None
        log("start", dialog=dialog, restored_grant=session.restored)
        refuse = MODE == "refuse" or (MODE == "refuse_once" and not refusals)
        if refuse and dialog:
            refusals.append(session_handle)
            log("refused")
            ok(dbus.UInt32(1), dbus.Dictionary({}, signature="sv"))
            return
        if MODE == "dmabuf":
            node = int(os.environ["SC_DMABUF_NODE"])
            log("stream", node=node, position=[0, 0], size=[64, 64])
            stream_result([(node, (0, 0), (64, 64))], ok)
            return
        try:
            cast = bus.get_object(MUTTER, "/org/gnome/Mutter/ScreenCast")
            path = cast.CreateSession(dbus.Dictionary({}, signature="sv"), dbus_interface=MUTTER)
            mutter_session = bus.get_object(MUTTER, path)
            session.mutter = mutter_session
            names = connectors()
            found = {}

            def watch(index, stream):
                def added(node_id):
                    params = stream.Get(MUTTER + ".Stream", "Parameters",
                                        dbus_interface="org.freedesktop.DBus.Properties")
                    pos = params.get("position", (0, 0))
                    size = params.get("size", (0, 0))
                    log("stream", node=int(node_id), connector=names[index],
                        position=[int(pos[0]), int(pos[1])], size=[int(size[0]), int(size[1])])
                    found[index] = (node_id, pos, size)
                    if len(found) == len(names):
                        stream_result([found[i] for i in range(len(names))], ok)
                stream.connect_to_signal("PipeWireStreamAdded", added,
                                         dbus_interface=MUTTER + ".Stream")

            for index, name in enumerate(names):
                stream_path = mutter_session.RecordMonitor(
                    name, dbus.Dictionary({"cursor-mode": dbus.UInt32(0)}, signature="sv"),
                    dbus_interface=MUTTER + ".Session")
                watch(index, bus.get_object(MUTTER, stream_path))
            mutter_session.Start(dbus_interface=MUTTER + ".Session")
        except dbus.DBusException as e:
            log("start_failed", error=str(e))
            ok(dbus.UInt32(2), dbus.Dictionary({}, signature="sv"))

    @dbus.service.method("org.freedesktop.DBus.Properties", in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method("org.freedesktop.DBus.Properties", in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {"AvailableSourceTypes": dbus.UInt32(1), "AvailableCursorModes": dbus.UInt32(3),
                "version": dbus.UInt32(4)}


ScreenCast(bus, "/org/freedesktop/portal/desktop")
name = dbus.service.BusName("org.freedesktop.impl.portal.desktop.shotclocktest", bus)
log("ready", mode=MODE)
GLib.MainLoop().run()
