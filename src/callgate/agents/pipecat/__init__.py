"""The ``pipecat`` agent kind: callgate calls a user's unchanged Pipecat pipeline.

The pipeline runs on its own event loop whose clock is the call's, fed caller audio frame by frame
by the streaming driver (:mod:`callgate.agents.streaming`); what it says and does is watched from
outside. ``kind`` registers the kind, ``config`` holds the variant block and the factory contract,
``adapter`` runs a call (with ``loop``, ``transport`` and ``watch``), and ``services`` wraps
callgate's offline speech engines as Pipecat services. Pipecat is imported only once a call opens.
"""
