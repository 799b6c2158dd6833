namespace RingKV.Core.Tests.Layering;

/// <summary>One file of the repository: its path relative to the root, with forward slashes, and its text.</summary>
internal readonly record struct SourceFile(string Path, string Text);
