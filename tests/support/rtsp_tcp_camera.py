#!/usr/bin/python3
# A live RTSP camera for the tests, built on GStreamer's RTSP server (Debian's
# gir1.2-gst-rtsp-server-1.0): it serves one H.264 MP4 at the file's own pace at
# rtsp://127.0.0.1:PORT/cam, and only with RTP interleaved on the RTSP connection (TCP), so the
# whole camera - requests, answers and media - crosses one TCP connection, which a TCP fault
# proxy can delay, stall, reset, cut and corrupt. (rtsp-server-perl, the other RTSP server of the
# tests, sends media over UDP only.) Each client gets the file from its start, as a camera that
# is reconnected to sends what it films from then on.
#
# Usage: rtsp_tcp_camera.py PORT FILE.mp4    Prints "ready" once it listens; runs until killed.
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: rtsp_tcp_camera.py PORT FILE.mp4", file=sys.stderr)
        return 2
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # config-interval=-1: the stream's parameters before every keyframe, so a client can start
    # decoding at any keyframe.
    location = path.replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    factory.set_shared(False)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print(f"rtsp_tcp_camera: cannot listen on 127.0.0.1:{port}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
