using System.Text;
using System.Text.Json.Nodes;
using VlmService.Imaging;
using VlmService.Text.Templates;

namespace VlmService.Engine.Generation;

/// <summary>
/// The prompt for one user turn <c>[{"type":"image"},{"type":"text","text":…}]</c> with the generation prompt,
/// rendered by the model's chat template, with each <c>&lt;image&gt;</c> expanded as the model's processor does.
/// </summary>
public static class PromptBuilder
{
    public const string ImageToken = "<image>";
    private const string FakeToken = "<fake_token_around_image>";
    private const string GlobalImageToken = "<global-img>";

    public static string Render(ChatTemplate template, string text)
    {
        var messages = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "image" }, new JsonObject { ["type"] = "text", ["text"] = text }),
        });
        return template.Render(messages, addGenerationPrompt: true);
    }

    /// <summary>Idefics3: every <c>&lt;image&gt;</c> becomes the tile grid's token string (row/col markers, then the global view).</summary>
    public static string ExpandIdefics3(string prompt, int rows, int cols, int imageSeqLen)
    {
        string image = string.Concat(Enumerable.Repeat(ImageToken, imageSeqLen));
        var expansion = new StringBuilder();
        if (rows == 0 && cols == 0)
        {
            expansion.Append(FakeToken).Append(GlobalImageToken).Append(image).Append(FakeToken);
        }
        else
        {
            for (int r = 1; r <= rows; r++)
            {
                for (int c = 1; c <= cols; c++)
                {
                    expansion.Append(FakeToken).Append($"<row_{r}_col_{c}>").Append(image);
                }
                expansion.Append('\n');
            }
            expansion.Append('\n').Append(FakeToken).Append(GlobalImageToken).Append(image).Append(FakeToken);
        }
        // One image per prompt: callers refuse user text that contains the image token itself.
        return ReplaceFirst(prompt, ImageToken, expansion.ToString());
    }

    /// <summary>LLaVA: the first image token is repeated once per vision-encoder output token.</summary>
    public static string ExpandLlava(string prompt, string imageToken, int count) =>
        ReplaceFirst(prompt, imageToken, string.Concat(Enumerable.Repeat(imageToken, count)));

    private static string ReplaceFirst(string text, string find, string replacement)
    {
        int at = text.IndexOf(find, StringComparison.Ordinal);
        return at < 0 ? text : string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + find.Length));
    }
}
