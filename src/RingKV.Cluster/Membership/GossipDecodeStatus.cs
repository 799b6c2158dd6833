namespace RingKV.Cluster.Membership;

/// <summary>Why <see cref="GossipCodec.TryDecode"/> refused a message (or <see cref="Ok"/>).</summary>
internal enum GossipDecodeStatus : byte
{
    /// <summary>Decoded.</summary>
    Ok = 0,

    /// <summary>The bytes end before the message does, or declare more elements than they can hold.</summary>
    Truncated = 1,

    /// <summary>The format version byte is not one this codec reads.</summary>
    UnsupportedFormat = 2,

    /// <summary>The kind byte names no <see cref="GossipMessageKind"/>.</summary>
    UnknownKind = 3,

    /// <summary>A varint is overlong or does not fit its field.</summary>
    BadVarint = 4,

    /// <summary>A string or a count is over the codec's limit.</summary>
    LimitExceeded = 5,

    /// <summary>A string is not valid UTF-8.</summary>
    InvalidText = 6,

    /// <summary>A field's value breaks the message's invariants (generation 0, unknown state, unsorted suspects, ...).</summary>
    InvalidValue = 7,

    /// <summary>Bytes follow the end of the message.</summary>
    TrailingBytes = 8,
}
