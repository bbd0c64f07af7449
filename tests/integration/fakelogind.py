#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A stand-in for logind on a private bus: org.freedesktop.login1 at
/org/freedesktop/login1 answers org.freedesktop.DBus.Properties.Get for
org.freedesktop.login1.Manager's IdleHint (b) and IdleSinceHint (t, µs),
read at each call from the file given as argv[2] ("IDLEHINT SINCE_US").
argv[1] is the bus address.  Prints READY once it owns the name."""
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = "org.freedesktop.login1.Manager"


class Manager(dbus.service.Object):
    def __init__(self, conn, state_file):
        super().__init__(conn, "/org/freedesktop/login1")
        self.state_file = state_file

    def _state(self):
        with open(self.state_file) as f:
            hint, since = f.read().split()
        return hint == "1", int(since)

    @dbus.service.method("org.freedesktop.DBus.Properties", in_signature="ss",
                         out_signature="v")
    def Get(self, iface, prop):
        hint, since = self._state()
        if iface != IFACE or prop not in ("IdleHint", "IdleSinceHint"):
            raise dbus.exceptions.DBusException(
                "no such property", name="org.freedesktop.DBus.Error.UnknownProperty")
        if prop == "IdleHint":
            return dbus.Boolean(hint, variant_level=1)
        return dbus.UInt64(since, variant_level=1)


def main():
    DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(sys.argv[1])
    name = dbus.service.BusName("org.freedesktop.login1", conn)
    Manager(conn, sys.argv[2])
    print("READY", flush=True)
    GLib.MainLoop().run()
    del name


if __name__ == "__main__":
    main()
