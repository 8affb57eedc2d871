using VlmService.Text;

namespace VlmService.Engine.Generation;

/// <summary>
/// Turns a growing list of token ids into text pieces. Text is emitted only once it no longer ends in an
/// incomplete UTF-8 sequence, so a multi-byte character is never split across pieces; stop strings cut the text.
/// </summary>
public sealed class IncrementalDetokenizer(Tokenizer tokenizer, IReadOnlyList<string> stopStrings)
{
    private readonly List<int> _ids = [];
    private int _emitted;

    public string Text { get; private set; } = string.Empty;

    /// <summary>True once a stop string appeared; <see cref="Text"/> then ends before it.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a token and returns the new text that is safe to emit (possibly empty).</summary>
    public string Add(int id)
    {
        _ids.Add(id);
        string text = tokenizer.Decode(_ids, skipSpecialTokens: true);
        foreach (string stop in stopStrings)
        {
            int at = stop.Length == 0 ? -1 : text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                text = text[..at];
                Stopped = true;
            }
        }
        Text = text;
        int safeEnd = Stopped ? text.Length : text.TrimEnd('\uFFFD').Length - HeldForStop(text);
        if (safeEnd <= _emitted)
        {
            return string.Empty;
        }
        string delta = text[_emitted..safeEnd];
        _emitted = safeEnd;
        return delta;
    }

    /// <summary>Length of the longest text suffix that could still grow into a stop string; it is not emitted yet.</summary>
    private int HeldForStop(string text)
    {
        int held = 0;
        foreach (string stop in stopStrings)
        {
            for (int k = Math.Min(stop.Length - 1, text.Length); k > held; k--)
            {
                if (text.AsSpan(text.Length - k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    held = k;
                    break;
                }
            }
        }
        return held;
    }

    /// <summary>Whatever was held back, at the end of generation.</summary>
    public string Flush()
    {
        string rest = Text.Length > _emitted ? Text[_emitted..] : string.Empty;
        _emitted = Text.Length;
        return rest;
    }
}
