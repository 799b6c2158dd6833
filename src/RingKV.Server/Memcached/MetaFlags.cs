using System;
using System.Buffers;
using System.Buffers.Text;
using System.Collections.Generic;

namespace RingKV.Server.Memcached;

/// <summary>The flags of a meta command (mg, ms, md, ma): one character each, some with a token after it ("T30", "Oabc").</summary>
/// <remarks>
/// Parsed as memcached 1.6's _meta_flag_preparse does: a repeated flag or an unknown one stops the parse at once
/// ("duplicate flag", "invalid flag"); a bad token marks the parse failed and goes on, so the last bad token's message
/// is the one reported. Flags that only ask for something in the reply (c, f, k, s, t, ...) are read again in request
/// order when the reply is written.
/// </remarks>
internal struct MetaFlags
{
    /// <summary>Flag tokens past this (the command and key included) are refused, as memcached's MFLAG_MAX_OPT_LENGTH.</summary>
    public const int MaxTokens = 19;

    /// <summary>The longest opaque token, its 'O' included.</summary>
    public const int MaxOpaqueBytes = 32;

    public bool Base64Key;
    public bool Value;
    public bool Quiet;
    public bool HasCas;
    public bool Vivify;
    public bool NewTtl;
    public bool Invalidate;
    public bool HasRecache;
    public uint ClientFlags;
    public long Exptime;
    public long VivifyExptime;
    public long RecacheSeconds;
    public ulong CompareCas;
    public byte Mode;
    public ulong Delta;
    public ulong Initial;

    /// <summary>
    /// Parses the flags of <paramref name="tokens"/> from <paramref name="first"/> on, and the key (token 1, base64-decoded
    /// under 'b'); returns the error line (without CR LF) to answer, or null.
    /// </summary>
    public static string? TryParse(ReadOnlySpan<byte> line, List<Range> tokens, int first, out MetaFlags flags, out byte[] key)
    {
        flags = default;
        flags.Delta = 1;
        var keyToken = line[tokens[1]];
        key = [];
        Span<bool> seen = stackalloc bool[127];
        string? error = null;
        var failed = false;
        for (var i = first; i < tokens.Count; i++)
        {
            var token = line[tokens[i]];
            var flag = token[0];
            if (flag >= 127 || seen[flag])
            {
                return "CLIENT_ERROR duplicate flag";
            }

            seen[flag] = true;
            var argument = token[1..];
            switch (flag)
            {
                case (byte)'b':
                    flags.Base64Key = true;
                    if (!TryDecodeKey(keyToken, out key))
                    {
                        error = "CLIENT_ERROR error decoding key";
                        failed = true;
                    }

                    break;
                case (byte)'N':
                    flags.Vivify = true;
                    failed |= !TryTime(argument, out flags.VivifyExptime, ref error);
                    break;
                case (byte)'T':
                    flags.NewTtl = TryTime(argument, out flags.Exptime, ref error);
                    failed |= !flags.NewTtl;
                    break;
                case (byte)'R':
                    flags.HasRecache = TryTime(argument, out flags.RecacheSeconds, ref error);
                    failed |= !flags.HasRecache;
                    break;
                case (byte)'v':
                    flags.Value = true;
                    break;
                case (byte)'q':
                    flags.Quiet = true;
                    break;
                case (byte)'F':
                    failed |= !MemcachedParser.TryParseUInt32(argument, out flags.ClientFlags);
                    break;
                case (byte)'C':
                    flags.HasCas = MemcachedParser.TryParseUInt64(argument, out flags.CompareCas);
                    if (!flags.HasCas)
                    {
                        error = "CLIENT_ERROR bad token in command line format";
                        failed = true;
                    }

                    break;
                case (byte)'M':
                    if (token.Length != 2)
                    {
                        error = "CLIENT_ERROR incorrect length for M token";
                        failed = true;
                    }
                    else
                    {
                        flags.Mode = token[1];
                    }

                    break;
                case (byte)'J':
                    if (!MemcachedParser.TryParseUInt64(argument, out flags.Initial))
                    {
                        error = "CLIENT_ERROR invalid numeric initial value";
                        failed = true;
                    }

                    break;
                case (byte)'D':
                    if (!MemcachedParser.TryParseUInt64(argument, out flags.Delta))
                    {
                        error = "CLIENT_ERROR invalid numeric delta value";
                        failed = true;
                    }

                    break;
                case (byte)'I':
                    flags.Invalidate = true;
                    break;
                case (byte)'O' or (byte)'P' or (byte)'L' or (byte)'k' or (byte)'s' or (byte)'t' or (byte)'c' or (byte)'f'
                    or (byte)'l' or (byte)'h' or (byte)'u':
                    break;
                default:
                    return "CLIENT_ERROR invalid flag";
            }
        }

        if (failed)
        {
            return error ?? "CLIENT_ERROR bad command line format";
        }

        if (!flags.Base64Key)
        {
            key = keyToken.ToArray();
        }

        for (var i = first; i < tokens.Count; i++)
        {
            var token = line[tokens[i]];
            if (token[0] == (byte)'O' && token.Length > MaxOpaqueBytes)
            {
                return "CLIENT_ERROR opaque token too long";
            }
        }

        return null;
    }

    /// <summary>A TTL token: a 32-bit signed number of seconds (memcached's safe_strtol).</summary>
    private static bool TryTime(ReadOnlySpan<byte> argument, out long seconds, ref string? error)
    {
        if (MemcachedParser.TryParseInt64(argument, out seconds) && seconds is >= int.MinValue and <= int.MaxValue)
        {
            return true;
        }

        error = "CLIENT_ERROR bad token in command line format";
        return false;
    }

    /// <summary>A 'b' key: standard base64, padded; an empty result is an error, as memcached's.</summary>
    public static bool TryDecodeKey(ReadOnlySpan<byte> encoded, out byte[] key)
    {
        key = [];
        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(encoded.Length)];
        if (encoded.IndexOfAny((byte)' ', (byte)'\t', (byte)'\r') >= 0
            || Base64.DecodeFromUtf8(encoded, decoded, out var consumed, out var written) != OperationStatus.Done
            || consumed != encoded.Length || written == 0)
        {
            return false;
        }

        key = decoded.AsSpan(0, written).ToArray();
        return true;
    }
}
