using System;
using System.Diagnostics;
using K4os.Compression.LZ4;
using ZstdSharp;

namespace RingKV.Storage.Compression;

/// <summary>Compresses and decompresses table blocks with caller-provided buffers.</summary>
/// <remarks>
/// Thread-safe. No allocation per call: LZ4 is stateless and Zstd uses one compressor and one
/// decompressor per thread ([ThreadStatic]), created on first use and kept for the thread's life.
/// A pool of contexts was rejected: it adds a lock or interlocked exchange per block for no gain,
/// since block compression never yields the thread mid-call.
/// </remarks>
internal static class BlockCompressor
{
    /// <summary>The Zstandard level used for blocks.</summary>
    public const int ZstdLevel = 3;

    [ThreadStatic]
    private static Compressor? s_zstdCompressor;

    [ThreadStatic]
    private static Decompressor? s_zstdDecompressor;

    /// <summary>Most bytes <see cref="Compress"/> writes for an input of <paramref name="inputLength"/> bytes.</summary>
    public static int MaxCompressedLength(CompressionKind kind, int inputLength) => kind switch
    {
        CompressionKind.None => inputLength,
        CompressionKind.Lz4 => LZ4Codec.MaximumOutputSize(inputLength),
        CompressionKind.Zstd => Compressor.GetCompressBound(inputLength),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown compression kind"),
    };

    /// <summary>True when storing <paramref name="compressedLength"/> instead of <paramref name="rawLength"/> saves at least 12.5%.</summary>
    public static bool IsWorthIt(int rawLength, int compressedLength) => compressedLength <= rawLength - (rawLength / 8);

    /// <summary>Compresses <paramref name="input"/> into <paramref name="output"/>; returns bytes written.</summary>
    /// <remarks>Requires: <paramref name="output"/> holds <see cref="MaxCompressedLength"/> bytes. <see cref="CompressionKind.None"/> copies.</remarks>
    public static int Compress(CompressionKind kind, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Debug.Assert(output.Length >= MaxCompressedLength(kind, input.Length));
        switch (kind)
        {
            case CompressionKind.None:
                input.CopyTo(output);
                return input.Length;
            case CompressionKind.Lz4:
                {
                    var written = LZ4Codec.Encode(input, output, LZ4Level.L00_FAST);
                    if (written < 0 || (written == 0 && !input.IsEmpty))
                    {
                        throw new InvalidOperationException("LZ4 output buffer too small");
                    }

                    return written;
                }

            case CompressionKind.Zstd:
                return (s_zstdCompressor ??= new Compressor(ZstdLevel)).Wrap(input, output);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown compression kind");
        }
    }

    /// <summary>
    /// Compresses <paramref name="input"/> with <paramref name="kind"/> into <paramref name="output"/> when that saves at
    /// least 12.5%; returns the kind to store with: <paramref name="kind"/> (then <paramref name="written"/> bytes of
    /// <paramref name="output"/> are the payload) or <see cref="CompressionKind.None"/> (store <paramref name="input"/> as is).
    /// </summary>
    /// <remarks>Requires: <paramref name="output"/> holds <see cref="MaxCompressedLength"/> bytes.</remarks>
    public static CompressionKind CompressIfWorthIt(CompressionKind kind, ReadOnlySpan<byte> input, Span<byte> output, out int written)
    {
        if (kind != CompressionKind.None)
        {
            written = Compress(kind, input, output);
            if (IsWorthIt(input.Length, written))
            {
                return kind;
            }
        }

        written = 0;
        return CompressionKind.None;
    }

    /// <summary>
    /// Decompresses <paramref name="input"/> into <paramref name="output"/>, whose length is the known uncompressed length;
    /// false when the input is damaged or does not decode to exactly that many bytes. Never throws on hostile bytes.
    /// </summary>
    public static bool TryDecompress(CompressionKind kind, ReadOnlySpan<byte> input, Span<byte> output)
    {
        switch (kind)
        {
            case CompressionKind.None:
                if (input.Length != output.Length)
                {
                    return false;
                }

                input.CopyTo(output);
                return true;
            case CompressionKind.Lz4:
                return LZ4Codec.Decode(input, output) == output.Length;
            case CompressionKind.Zstd:
                try
                {
                    var decompressor = s_zstdDecompressor ??= new Decompressor();
                    return decompressor.TryUnwrap(input, output, out var written) && written == output.Length;
                }
                catch (ZstdException)
                {
                    return false;
                }

            default:
                return false;
        }
    }
}
