"""The LiveKit Agents agent kind: a user's unchanged LiveKit ``Agent`` in an ``AgentSession`` with
no LiveKit server, heard through callgate's simulated caller on the virtual clock.

Loaded only through the ``callgate.agents`` entry point ``livekit`` (extra ``callgate[livekit]``):
nothing outside this package imports LiveKit. :mod:`.kind` registers the kind, :mod:`.config` is
its ``agent:`` block, :mod:`.adapter` runs the session frame by frame on the call's own event loop
(:mod:`.loop`, which says when a push is done) over callgate's line (:mod:`.line`: the caller's
audio in, the agent's audio and words out), and :mod:`.services` is what the user's factory is
given (callgate's tools, offline STT and TTS, hanging up).
"""
