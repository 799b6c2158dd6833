namespace RingKV.Net.Resp;

/// <summary>Outcome of one attempt to parse a request from buffered bytes.</summary>
internal enum ParseStatus : byte
{
    /// <summary>A whole command was parsed; the consumed position is past it.</summary>
    Complete = 0,

    /// <summary>The buffer holds no whole command yet; read more bytes and retry with the same start.</summary>
    Incomplete = 1,

    /// <summary>The bytes break the protocol or a limit; reply with the error text and close the connection.</summary>
    Error = 2,
}
