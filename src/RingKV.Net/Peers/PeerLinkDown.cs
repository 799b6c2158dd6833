using System;

namespace RingKV.Net.Peers;

/// <summary>Why a link has no connection now, and when it tries again.</summary>
/// <param name="Reason">What happened, for the log: the socket error, the timeout, the refusal.</param>
/// <param name="Refusal">The peer's refusal, when it refused the handshake; null otherwise.</param>
/// <param name="WasConnected">True when an established connection ended; false when an attempt failed.</param>
/// <param name="Attempt">Attempts failed in a row (1 for the first).</param>
/// <param name="RetryIn">The backoff before the next attempt.</param>
internal sealed record PeerLinkDown(string Reason, PeerRefusal? Refusal, bool WasConnected, int Attempt, TimeSpan RetryIn);
