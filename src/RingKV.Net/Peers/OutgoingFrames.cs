using System;
using System.Buffers;
using System.Diagnostics;

namespace RingKV.Net.Peers;

/// <summary>Encoded frames waiting for one socket send, with the kind and request id of each so they can be failed back.</summary>
/// <remarks>
/// Not thread-safe: a <see cref="PeerLink"/> owns two (one filling under its lock, one being sent) and swaps them.
/// Both arrays are rented from <see cref="ArrayPool{T}.Shared"/> and grow by doubling; <see cref="Clear"/> gives back
/// ones grown past the retained size, <see cref="Dispose"/> returns them. Appending allocates nothing once the
/// arrays have grown to the traffic's batch size.
/// </remarks>
internal sealed class OutgoingFrames : IDisposable
{
    private const int InitialBytes = 16 * 1024;
    private const int InitialFrames = 64;

    private byte[] _bytes = ArrayPool<byte>.Shared.Rent(InitialBytes);
    private PeerFrameId[] _ids = ArrayPool<PeerFrameId>.Shared.Rent(InitialFrames);
    private int _byteCount;
    private int _count;

    /// <summary>Frames appended since the last <see cref="Clear"/>.</summary>
    public int Count => _count;

    /// <summary>Encoded bytes appended since the last <see cref="Clear"/>.</summary>
    public int ByteCount => _byteCount;

    /// <summary>The encoded frames, back to back.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes.AsMemory(0, _byteCount);

    /// <summary>Kind and request id of each frame, in order.</summary>
    public ReadOnlySpan<PeerFrameId> Ids => _ids.AsSpan(0, _count);

    /// <summary>Encodes one frame at the end.</summary>
    public void Append(byte kind, ulong requestId, ReadOnlySpan<byte> payload)
    {
        var frameBytes = PeerFrameCodec.OverheadBytes + payload.Length;
        if (_bytes.Length - _byteCount < frameBytes)
        {
            _bytes = Grow(_bytes, _byteCount, _byteCount + frameBytes);
        }

        if (_count == _ids.Length)
        {
            _ids = Grow(_ids, _count, _count + 1);
        }

        _byteCount += PeerFrameCodec.Encode(_bytes.AsSpan(_byteCount), kind, requestId, payload);
        _ids[_count++] = new PeerFrameId(kind, requestId);
    }

    /// <summary>Forgets the frames; arrays grown past <paramref name="retainBytes"/> are exchanged for small ones.</summary>
    public void Clear(int retainBytes)
    {
        _byteCount = 0;
        _count = 0;
        if (_bytes.Length > retainBytes)
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = ArrayPool<byte>.Shared.Rent(InitialBytes);
        }

        if (_ids.Length * 16 > retainBytes)
        {
            ArrayPool<PeerFrameId>.Shared.Return(_ids);
            _ids = ArrayPool<PeerFrameId>.Shared.Rent(InitialFrames);
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_bytes);
        ArrayPool<PeerFrameId>.Shared.Return(_ids);
        _bytes = [];
        _ids = [];
        _byteCount = 0;
        _count = 0;
    }

    private static T[] Grow<T>(T[] array, int used, int needed)
    {
        Debug.Assert(needed > array.Length, "grows");
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(needed, array.Length * 2));
        array.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        return bigger;
    }
}
