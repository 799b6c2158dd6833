namespace RingKV.Net.Resp;

/// <summary>What the connection does after a handler has written its reply.</summary>
internal enum RespAction : byte
{
    /// <summary>Go on with the next command.</summary>
    Continue = 0,

    /// <summary>Flush the replies written so far and close the connection (QUIT).</summary>
    Close = 1,
}
