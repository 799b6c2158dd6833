using System;

namespace RingKV.Testing.Support;

/// <summary>A randomized run failed: the message names its seed and last operations (see <see cref="SeededRun"/>).</summary>
public sealed class SeededRunException(string message, Exception inner) : Exception(message, inner);
