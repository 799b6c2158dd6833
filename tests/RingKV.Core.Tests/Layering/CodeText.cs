using System;

namespace RingKV.Core.Tests.Layering;

/// <summary>C# source with comments and the contents of literals blanked out, so that what is left is code.</summary>
internal static class CodeText
{
    /// <summary>
    /// Replaces comments and the contents of string and character literals (regular, verbatim, interpolated and raw)
    /// with spaces, keeping every line break, so line numbers still match the source.
    /// </summary>
    public static string Strip(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var text = source.ToCharArray();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                i = BlankUntil(text, i, static (t, j) => t[j] == '\n', includeEnd: false);
            }
            else if (c == '/' && next == '*')
            {
                i = BlankUntil(text, i + 2, static (t, j) => t[j - 1] == '*' && t[j] == '/', includeEnd: true, from: i);
            }
            else if (c == '"' || ((c == '@' || c == '$') && (next == '"' || next == '@' || next == '$')))
            {
                i = SkipString(text, i);
            }
            else if (c == '\'')
            {
                i = BlankQuoted(text, i + 1, '\'', escapes: true);
            }
            else
            {
                i++;
            }
        }

        return new string(text);
    }

    private static int SkipString(char[] text, int start)
    {
        var i = start;
        var verbatim = false;
        while (text[i] != '"')
        {
            verbatim |= text[i] == '@';
            i++;
        }

        var quotes = 0;
        while (i + quotes < text.Length && text[i + quotes] == '"')
        {
            quotes++;
        }

        if (quotes >= 3)
        {
            // Raw string literal: ends at the same number of quotes.
            var close = new string('"', quotes);
            var end = new string(text).IndexOf(close, i + quotes, StringComparison.Ordinal);
            end = end < 0 ? text.Length : end;
            Blank(text, i + quotes, end);
            return Math.Min(text.Length, end + quotes);
        }

        if (quotes == 2)
        {
            return i + 2; // ""
        }

        return verbatim ? BlankVerbatim(text, i + 1) : BlankQuoted(text, i + 1, '"', escapes: true);
    }

    private static int BlankQuoted(char[] text, int i, char quote, bool escapes)
    {
        while (i < text.Length && text[i] != quote && text[i] != '\n')
        {
            if (escapes && text[i] == '\\' && i + 1 < text.Length)
            {
                text[i++] = ' ';
            }

            text[i++] = ' ';
        }

        return i + 1;
    }

    private static int BlankVerbatim(char[] text, int i)
    {
        while (i < text.Length)
        {
            if (text[i] == '"')
            {
                if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    text[i] = text[i + 1] = ' ';
                    i += 2;
                    continue;
                }

                return i + 1;
            }

            if (text[i] != '\n')
            {
                text[i] = ' ';
            }

            i++;
        }

        return i;
    }

    private static int BlankUntil(char[] text, int i, Func<char[], int, bool> isEnd, bool includeEnd, int from = -1)
    {
        var start = from < 0 ? i : from;
        while (i < text.Length && !isEnd(text, i))
        {
            i++;
        }

        var end = includeEnd ? Math.Min(text.Length, i + 1) : i;
        Blank(text, start, end);
        return end;
    }

    private static void Blank(char[] text, int start, int end)
    {
        for (var j = start; j < end; j++)
        {
            if (text[j] != '\n' && text[j] != '\r')
            {
                text[j] = ' ';
            }
        }
    }
}
