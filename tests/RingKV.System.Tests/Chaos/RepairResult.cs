using System;

namespace RingKV.System.Tests.Chaos;

/// <summary>One node's anti-entropy pass as <c>ringkv repair</c> reported it.</summary>
/// <param name="Node">The node the pass ran on.</param>
/// <param name="KeysRepaired">Keys streamed to a replica that differed.</param>
/// <param name="Ranges">Token ranges compared.</param>
/// <param name="Differed">Ranges whose Merkle roots differed.</param>
/// <param name="BytesSent">Bytes the pass sent.</param>
/// <param name="Elapsed">How long the command ran, as the test saw it.</param>
public sealed record RepairResult(int Node, long KeysRepaired, long Ranges, long Differed, long BytesSent, TimeSpan Elapsed);
