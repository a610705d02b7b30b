"""Hardware tracks (``servers[].track``): jobs that ran on different hardware are never ranked together. Pure.

A track is a set of servers with the same CPU and GPU, model and count (check-config refuses a track whose
servers differ, and, on an event without tracks, servers that differ). Each track has its own boards; a team
whose jobs ran on two tracks appears on both, each board ranking its jobs on that track. The event's totals
add every track up. An event whose servers name no track has one implicit track (name ``""``), whose boards
are stored as they always were.

The track of a submission is read from the server that ran it (the server's name the evaluation stores), at
the time the boards are ranked: a change of ``track`` in the YAML regroups the boards at the next refresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenhack.config import EventConfig, ServerConfig

__all__ = [
    "IMPLICIT_TRACK",
    "TrackMembership",
    "event_tracks",
    "servers_on_track",
    "track_of",
    "track_of_server",
]

# the name of the one track of an event whose servers name none
IMPLICIT_TRACK = ""


def track_of(server: ServerConfig) -> str:
    """The track a server's jobs are ranked on."""
    return server.track if server.track is not None else IMPLICIT_TRACK


def event_tracks(config: EventConfig) -> tuple[str, ...]:
    """The event's tracks, in the order their first server is listed."""
    return tuple(dict.fromkeys(track_of(server) for server in config.servers))


def servers_on_track(config: EventConfig, track: str) -> tuple[ServerConfig, ...]:
    """The servers of one track, in the YAML's order."""
    return tuple(server for server in config.servers if track_of(server) == track)


@dataclass(frozen=True)
class TrackMembership:
    """The track of a submission, or why it has none.

    Attributes:
        track: the track, None when the server that ran the job is not known or no longer in the YAML.
        reason: a sentence for the organisers when ``track`` is None.
    """

    track: str | None
    reason: str | None = None


def track_of_server(config: EventConfig, server_name: str | None) -> TrackMembership:
    """The track of a job that ran on the server called ``server_name`` (None: not recorded).

    An event with one track puts every job on it, its server known or not (as before tracks existed); with
    several, a job whose server is not recorded, or no longer in the YAML, is on no track's board.
    """
    tracks = event_tracks(config)
    if len(tracks) == 1:
        return TrackMembership(tracks[0])
    if server_name is None:
        return TrackMembership(
            None, "the server that ran the job is not recorded, so its hardware track is unknown"
        )
    for server in config.servers:
        if server.name == server_name:
            return TrackMembership(track_of(server))
    known = ", ".join(s.name for s in config.servers)
    return TrackMembership(
        None, f"the job ran on server {server_name!r}, which the event no longer lists (servers: {known})"
    )
