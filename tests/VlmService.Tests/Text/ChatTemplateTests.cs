using System.Text.Json.Nodes;
using VlmService.Text.Templates;

namespace VlmService.Tests.Text;

public sealed class ChatTemplateTests
{
    /// <summary>Exercises what real templates lean on: loop state, namespaces, filters, tests, slicing, methods, trimming.</summary>
    private const string FeatureTemplate =
        "{%- set ns = namespace(count=0) -%}\n" +
        "{{ bos_token }}{% for m in messages if m.role != 'ignored' %}\n" +
        "  {%- set ns.count = ns.count + 1 -%}\n" +
        "  [{{ loop.index }}/{{ loop.length }}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %}] {{ m['role'] | upper }}:" +
        "{% if m.content is string %} {{ m.content | trim }}{% else %}{% for part in m.content %}{{ ' <image>' if part.type == 'image' else ' ' ~ part.text }}{% endfor %}{% endif %}\n" +
        "{% endfor -%}\n" +
        "{{ '(' ~ ns.count ~ ' kept, ' ~ (messages | length) ~ ' total)' }}{{ messages[0]['role'][:3] }}{{ messages[-1].role.startswith('ass') }}" +
        "{% if tools is not defined %} no-tools{% endif %}{{ {'a': 1, 'b': [true, none]} | tojson }}{% if add_generation_prompt %}\nASSISTANT:{% endif %}\n";

    public static TheoryData<string> Templates => new() { "smolvlm", "qwen2", "features" };

    [Theory]
    [MemberData(nameof(Templates))]
    public void Templates_render_exactly_as_the_reference_engine(string name)
    {
        (string source, Dictionary<string, string> specials) = name switch
        {
            "smolvlm" => (ChatTemplate.FromFolder(TestPaths.Reference("SmolVLM-256M-Instruct"))!.Source, new Dictionary<string, string> { ["bos_token"] = "<|im_start|>", ["eos_token"] = "<end_of_utterance>" }),
            "qwen2" => (ChatTemplate.FromFolder(TestPaths.Reference("qwen2-tokenizer"))!.Source, new Dictionary<string, string> { ["eos_token"] = "<|im_end|>" }),
            _ => (FeatureTemplate, new Dictionary<string, string> { ["bos_token"] = "<s>" }),
        };
        bool structured = name != "qwen2";
        JsonArray cases = [.. Conversations(structured).SelectMany(messages => new[] { true, false }.Select(prompt =>
            (JsonNode)new JsonObject { ["messages"] = messages.DeepClone(), ["add_generation_prompt"] = prompt }))];
        var request = new JsonObject { ["template"] = source, ["special_tokens"] = new JsonObject(specials.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))), ["cases"] = cases };
        JsonArray expected = ReferenceRunner.RunWithRequest("render-template.mjs", request).AsArray();
        var template = new ChatTemplate(source, specials);
        for (int i = 0; i < cases.Count; i++)
        {
            string actual = template.Render(cases[i]!["messages"]!.AsArray(), cases[i]!["add_generation_prompt"]!.GetValue<bool>());
            Assert.Equal(expected[i]!.GetValue<string>(), actual);
        }
    }

    private static IEnumerable<JsonArray> Conversations(bool structured)
    {
        JsonNode Content(string text, bool image) => structured
            ? new JsonArray([.. image ? new JsonNode[] { new JsonObject { ["type"] = "image" } } : [], new JsonObject { ["type"] = "text", ["text"] = text }])
            : JsonValue.Create(text);
        JsonObject Message(string role, string text, bool image = false) => new() { ["role"] = role, ["content"] = Content(text, image) };
        yield return [Message("user", "What is in this picture?", image: true)];
        yield return [Message("user", "  How many pallets are on the truck?\n", image: true)];
        yield return [Message("system", "Be brief."), Message("user", "Describe it.", image: true), Message("assistant", "A cat."), Message("user", "Its colour? 🐈 ünïcödé")];
        yield return [Message("user", "No image here, just text with {braces} and 'quotes' and \"double\".")];
    }

    [Fact]
    public void Unsupported_syntax_is_reported_at_load()
    {
        Assert.Throws<TemplateException>(() => new ChatTemplate("{% macro m() %}{% endmacro %}"));
        Assert.Throws<TemplateException>(() => new ChatTemplate("{% if x %}never closed"));
        Assert.Throws<TemplateException>(() => new ChatTemplate("{{ raise_exception('bad') }}").Render([], false));
    }
}
