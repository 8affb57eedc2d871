namespace VlmService.Text;

/// <summary>Splits text around added tokens, taking the longest added token that starts at each position.</summary>
internal sealed class AddedTokenSplitter
{
    private sealed class Node
    {
        public Dictionary<char, Node> Children { get; } = [];

        public string? End { get; set; }
    }

    private readonly Node _root = new();

    public AddedTokenSplitter(IEnumerable<string> tokens)
    {
        foreach (string token in tokens)
        {
            Node node = _root;
            foreach (char c in token)
            {
                if (!node.Children.TryGetValue(c, out Node? child))
                {
                    child = new Node();
                    node.Children[c] = child;
                }
                node = child;
            }
            node.End = token;
        }
    }

    public List<string> Split(string text)
    {
        var result = new List<string>();
        int start = 0;
        int i = 0;
        while (i < text.Length)
        {
            Node? node = _root;
            string? match = null;
            for (int j = i; j < text.Length && node.Children.TryGetValue(text[j], out node); j++)
            {
                match = node.End ?? match;
            }
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > start)
            {
                result.Add(text[start..i]);
            }
            result.Add(match);
            i += match.Length;
            start = i;
        }
        if (start < text.Length)
        {
            result.Add(text[start..]);
        }
        return result;
    }
}
