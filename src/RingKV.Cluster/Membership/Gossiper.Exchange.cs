using System;
using System.Collections.Generic;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

internal sealed partial class Gossiper
{
    /// <summary>Handles a membership message from a peer (its sender is <see cref="GossipMessage.From"/>), answering through <paramref name="outbox"/>.</summary>
    public void Handle(GossipMessage message, DateTimeOffset now, IGossipOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(outbox);
        Advance(now);
        if (message.From == _local.Id)
        {
            // Our own syn or ack came back: a seed address was one of ours under another spelling.
            var seed = message switch
            {
                GossipSyn syn => syn.SeedAddress,
                GossipAck ack => ack.SeedAddress,
                _ => "",
            };
            ResolveSeed(seed);
            return;
        }

        var changed = false;
        switch (message)
        {
            case GossipPing ping:
                changed = ApplyHeartbeat(ping.Heartbeat);
                outbox.Send(ping.FromAddress, ping.From, new GossipPong(_local.Heartbeat, _local.PeerAddress, ping.SentAtTicks));
                break;
            case GossipPong pong:
                changed = HandlePong(pong);
                break;
            case GossipSyn syn:
                outbox.Send(syn.FromAddress, syn.From, AnswerSyn(syn));
                break;
            case GossipAck ack:
                changed = HandleAck(ack, outbox);
                break;
            case GossipAck2 ack2:
                changed = ApplyAll(ack2.Records, ack2.Heartbeats);
                break;
            default:
                throw new ArgumentException($"not a membership message: {message.GetType().Name}", nameof(message));
        }

        if (changed)
        {
            RecomputeVerdict();
            _view = null;
        }
    }

    private bool HandlePong(GossipPong pong)
    {
        if (!_peers.TryGetValue(pong.From, out var peer) || pong.Heartbeat.Generation < peer.DetectorGeneration)
        {
            // Not a node we ping, or an answer from an incarnation that has since restarted.
            return false;
        }

        if (pong.Heartbeat.Generation > peer.DetectorGeneration)
        {
            NewIncarnation(peer, pong.Heartbeat.Generation);
        }

        var changed = ApplyHeartbeat(pong.Heartbeat);
        var echo = pong.EchoSentAtTicks;
        if (echo > peer.LastEchoTicks && echo <= _now.UtcTicks && _now.UtcTicks - echo <= _settings.MaxPongDelay.Ticks)
        {
            peer.LastEchoTicks = echo;
            peer.Detector.Heartbeat(_now);
            changed |= RecomputeSuspicion();
        }

        return changed;
    }

    private GossipAck AnswerSyn(GossipSyn syn)
    {
        var records = ImmutableArray.CreateBuilder<NodeRecord>();
        var heartbeats = ImmutableArray.CreateBuilder<HeartbeatUpdate>();
        var requests = ImmutableArray.CreateBuilder<GossipDigest>();

        // Only asked whether it contains a node, never iterated: the answer's order follows the syn and the sorted peers.
        var listed = new HashSet<NodeId>();
        foreach (var digest in syn.Digests)
        {
            if (!listed.Add(digest.Node))
            {
                continue;
            }

            var known = Find(digest.Node);
            if (known is null)
            {
                if (digest.Generation > 0 && CanLearnMore())
                {
                    requests.Add(new GossipDigest(digest.Node, 0, 0));
                }
            }
            else if (known.IsNewerThan(digest.Generation, digest.Version))
            {
                AddUpdate(known, digest, records, heartbeats);
            }
            else if (digest.Node != _local.Id && known.Digest.IsOlderThan(digest.Generation, digest.Version))
            {
                requests.Add(known.Digest);
            }
        }

        if (!listed.Contains(_local.Id))
        {
            records.Add(_local);
        }

        foreach (var peer in _peers.Values)
        {
            if (!listed.Contains(peer.Record.Id))
            {
                records.Add(peer.Record);
            }
        }

        return new GossipAck(_local.Id, _local.PeerAddress, syn.SeedAddress, records.ToImmutable(), heartbeats.ToImmutable(), requests.ToImmutable());
    }

    private bool HandleAck(GossipAck ack, IGossipOutbox outbox)
    {
        // The seed at that address has answered: it is ack.From, whose record the ack carries or the next exchange brings.
        ResolveSeed(ack.SeedAddress);
        var changed = ApplyAll(ack.Records, ack.Heartbeats);
        if (ack.Requests.IsEmpty)
        {
            return changed;
        }

        var records = ImmutableArray.CreateBuilder<NodeRecord>();
        var heartbeats = ImmutableArray.CreateBuilder<HeartbeatUpdate>();
        var answered = new HashSet<NodeId>();
        foreach (var request in ack.Requests)
        {
            if (answered.Add(request.Node) && Find(request.Node) is { } known && known.IsNewerThan(request.Generation, request.Version))
            {
                AddUpdate(known, request, records, heartbeats);
            }
        }

        if (records.Count > 0 || heartbeats.Count > 0)
        {
            outbox.Send(ack.FromAddress, ack.From, new GossipAck2(_local.Id, _local.PeerAddress, records.ToImmutable(), heartbeats.ToImmutable()));
        }

        return changed;
    }

    /// <summary>Adds what someone holding <paramref name="theirs"/> needs of <paramref name="known"/>: the heartbeat part when it holds the current description, else the whole record.</summary>
    private static void AddUpdate(NodeRecord known, GossipDigest theirs, ImmutableArray<NodeRecord>.Builder records, ImmutableArray<HeartbeatUpdate>.Builder heartbeats)
    {
        if (known.Generation == theirs.Generation && known.StateVersion <= theirs.Version)
        {
            heartbeats.Add(known.Heartbeat);
        }
        else
        {
            records.Add(known);
        }
    }

    private bool ApplyAll(ImmutableArray<NodeRecord> records, ImmutableArray<HeartbeatUpdate> heartbeats)
    {
        var changed = false;
        foreach (var record in records)
        {
            changed |= ApplyRecord(record);
        }

        foreach (var heartbeat in heartbeats)
        {
            changed |= ApplyHeartbeat(heartbeat);
        }

        return changed;
    }

    /// <summary>Keeps <paramref name="record"/> if it is news: an unknown node, or newer in (generation, version) than the one held.</summary>
    private bool ApplyRecord(NodeRecord record)
    {
        if (record.Id == _local.Id)
        {
            if (record.IsNewerThan(_local.Generation, _local.Version))
            {
                ConflictingSelfRecords++;
            }

            return false;
        }

        if (!_peers.TryGetValue(record.Id, out var peer))
        {
            if (!CanLearnMore())
            {
                return false;
            }

            _peers.Add(record.Id, new Peer(record, new PhiAccrual(_settings.Detector, _now), _now));
            ResolveSeed(record.PeerAddress);
            DescriptionChanged();
            return true;
        }

        if (!record.IsNewerThan(peer.Record.Generation, peer.Record.Version))
        {
            return false;
        }

        // The detector stays as it is: a record relayed by gossip is no direct evidence that the new incarnation
        // answers us. Its first pong starts the detector over (HandlePong).
        var described = !record.SameDescription(peer.Record);
        peer.Record = record;
        peer.RenewedAt = _now;
        if (described)
        {
            ResolveSeed(record.PeerAddress);
            DescriptionChanged();
        }

        return true;
    }

    /// <summary>Applies <paramref name="heartbeat"/> to the record held of its node, if it is newer and of the same generation and description.</summary>
    private bool ApplyHeartbeat(HeartbeatUpdate heartbeat)
    {
        if (heartbeat.Node == _local.Id || !_peers.TryGetValue(heartbeat.Node, out var peer))
        {
            return false;
        }

        var held = peer.Record;
        if (heartbeat.Generation != held.Generation || heartbeat.StateVersion != held.StateVersion || heartbeat.Version <= held.Version)
        {
            // A newer generation or description needs the whole record, which the next exchange brings (our digest shows we lack it).
            return false;
        }

        peer.Record = held.With(heartbeat);
        peer.RenewedAt = _now;
        return true;
    }

    /// <summary>A pong came from a newer incarnation of the peer: its detector starts over, the old rhythm forgotten.</summary>
    private void NewIncarnation(Peer peer, ulong generation)
    {
        peer.Detector.Reset(_now);
        peer.DetectorGeneration = generation;
        peer.LastEchoTicks = long.MinValue;
    }

    private NodeRecord? Find(NodeId node)
        => node == _local.Id ? _local : _peers.TryGetValue(node, out var peer) ? peer.Record : null;

    // Every list of a message holds at most GossipCodec.MaxNodes entries, the local node's included.
    private bool CanLearnMore() => _peers.Count + 1 < GossipCodec.MaxNodes;

    private void ResolveSeed(string address)
    {
        if (address.Length > 0)
        {
            var at = _unresolvedSeeds.BinarySearch(address, StringComparer.Ordinal);
            if (at >= 0)
            {
                _unresolvedSeeds.RemoveAt(at);
                _view = null;
            }
        }
    }
}
