using System;
using System.Collections.Generic;
using System.Text;
using RingKV.Server.Memcached;
using Xunit;

namespace RingKV.Server.Tests.Memcached;

/// <summary>The meta commands' flag parser, as memcached 1.6's _meta_flag_preparse.</summary>
public sealed class MetaFlagsTests
{
    private static (string? Error, MetaFlags Flags, byte[] Key) Parse(string line, int first = 2)
    {
        var bytes = Encoding.ASCII.GetBytes(line);
        var tokens = new List<Range>();
        MemcachedParser.Tokenize(bytes, tokens);
        var error = MetaFlags.TryParse(bytes, tokens, first, out var flags, out var key);
        return (error, flags, key);
    }

    [Fact]
    public void TryParse_TokensAndDefaults_AreRead()
    {
        var (error, flags, key) = Parse("ma k1 N30 J7 D5 T-1 MD C42 q v F9 R10");
        Assert.Null(error);
        Assert.Equal("k1"u8.ToArray(), key);
        Assert.True(flags.Vivify && flags.NewTtl && flags.HasCas && flags.Quiet && flags.Value && flags.HasRecache);
        Assert.Equal((30L, 7UL, 5UL, -1L, (byte)'D', 42UL, 9U, 10L), (flags.VivifyExptime, flags.Initial, flags.Delta, flags.Exptime, flags.Mode, flags.CompareCas, flags.ClientFlags, flags.RecacheSeconds));
        Assert.Equal(1UL, Parse("ma k1").Flags.Delta);
    }

    [Theory]
    [InlineData("mg k1 v v", "CLIENT_ERROR duplicate flag")]
    [InlineData("mg k1 !", "CLIENT_ERROR invalid flag")]
    [InlineData("mg k1 Tx", "CLIENT_ERROR bad token in command line format")]
    [InlineData("mg k1 T99999999999", "CLIENT_ERROR bad token in command line format")]
    [InlineData("mg k1 C-1", "CLIENT_ERROR bad token in command line format")]
    [InlineData("mg k1 Fx", "CLIENT_ERROR bad command line format")]
    [InlineData("mg k1 Mxx", "CLIENT_ERROR incorrect length for M token")]
    [InlineData("mg k1 Jx", "CLIENT_ERROR invalid numeric initial value")]
    [InlineData("mg k1 D+1", "CLIENT_ERROR invalid numeric delta value")]
    [InlineData("mg k1 Tx !", "CLIENT_ERROR invalid flag")]
    [InlineData("mg k1 b", "CLIENT_ERROR error decoding key")]
    [InlineData("mg Zm9v= b", "CLIENT_ERROR error decoding key")]
    [InlineData("mg k1 Oaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "CLIENT_ERROR opaque token too long")]
    public void TryParse_BadFlags_AnswerMemcachedsError(string line, string expected) => Assert.Equal(expected, Parse(line).Error);

    [Fact]
    public void TryParse_Base64Key_IsDecoded()
    {
        var (error, flags, key) = Parse("mg AP8gCg== b k");
        Assert.Null(error);
        Assert.True(flags.Base64Key);
        Assert.Equal(new byte[] { 0x00, 0xFF, 0x20, 0x0A }, key);
    }
}
