using System.Globalization;
using System.Text;

namespace VlmService.Text.Templates;

/// <summary>Evaluates a parsed template against a context (the subset of Jinja that chat templates use).</summary>
internal sealed class TemplateInterpreter
{
    private readonly List<Dictionary<string, object?>> _scopes;
    private readonly StringBuilder _output = new();

    public TemplateInterpreter(Dictionary<string, object?> context)
    {
        var globals = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["raise_exception"] = (TemplateFunction)((args, _) => throw new TemplateException(TemplateValues.Render(args.FirstOrDefault()))),
            ["namespace"] = (TemplateFunction)((_, keywords) => new Dictionary<string, object?>(keywords, StringComparer.Ordinal)),
            ["range"] = (TemplateFunction)((args, _) => Range(args)),
        };
        _scopes = [globals, new Dictionary<string, object?>(context, StringComparer.Ordinal)];
    }

    public string Run(List<Node> nodes)
    {
        Execute(nodes);
        return _output.ToString();
    }

    private void Execute(List<Node> nodes)
    {
        foreach (Node node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    _output.Append(text.Text);
                    break;
                case OutputNode output:
                    _output.Append(TemplateValues.Render(Evaluate(output.Value)));
                    break;
                case IfNode branch:
                    Execute(TakenBranch(branch));
                    break;
                case ForNode loop:
                    ExecuteFor(loop);
                    break;
                case SetNode set:
                    Assign(set.Target, Evaluate(set.Value));
                    break;
            }
        }
    }

    private List<Node> TakenBranch(IfNode branch)
    {
        foreach ((Expr condition, List<Node> body) in branch.Branches)
        {
            if (TemplateValues.Truthy(Evaluate(condition)))
            {
                return body;
            }
        }
        return branch.Else;
    }

    private void ExecuteFor(ForNode loop)
    {
        var items = TemplateValues.Iterate(Evaluate(loop.Iterable)).Where(item =>
        {
            if (loop.Filter is null)
            {
                return true;
            }
            _scopes.Add(Bind(loop.Targets, item));
            bool keep = TemplateValues.Truthy(Evaluate(loop.Filter));
            _scopes.RemoveAt(_scopes.Count - 1);
            return keep;
        }).ToList();
        if (items.Count == 0)
        {
            Execute(loop.Else);
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            Dictionary<string, object?> scope = Bind(loop.Targets, items[i]);
            scope["loop"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["index"] = (long)(i + 1),
                ["index0"] = (long)i,
                ["revindex"] = (long)(items.Count - i),
                ["revindex0"] = (long)(items.Count - i - 1),
                ["first"] = i == 0,
                ["last"] = i == items.Count - 1,
                ["length"] = (long)items.Count,
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value,
                ["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Value,
            };
            _scopes.Add(scope);
            Execute(loop.Body);
            _scopes.RemoveAt(_scopes.Count - 1);
        }
    }

    private static Dictionary<string, object?> Bind(List<string> targets, object? item)
    {
        var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (targets.Count == 1)
        {
            scope[targets[0]] = item;
            return scope;
        }
        List<object?> parts = TemplateValues.Iterate(item);
        for (int i = 0; i < targets.Count; i++)
        {
            scope[targets[i]] = i < parts.Count ? parts[i] : Undefined.Value;
        }
        return scope;
    }

    private void Assign(Expr target, object? value)
    {
        switch (target)
        {
            case NameExpr name:
                _scopes[^1][name.Name] = value;
                break;
            case MemberExpr { Target: var owner, Key: LiteralExpr { Value: string key } } when Evaluate(owner) is Dictionary<string, object?> dict:
                dict[key] = value;
                break;
            default:
                throw new TemplateException("Only names and namespace attributes can be assigned.");
        }
    }

    private object? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
        {
            if (_scopes[i].TryGetValue(name, out object? value))
            {
                return value;
            }
        }
        return Undefined.Value;
    }

    private object? Evaluate(Expr expr) => expr switch
    {
        LiteralExpr literal => literal.Value,
        NameExpr name => Lookup(name.Name),
        ListExpr list => list.Items.Select(Evaluate).ToList(),
        DictExpr dict => dict.Items.ToDictionary(p => TemplateValues.Render(Evaluate(p.Key)), p => Evaluate(p.Value), StringComparer.Ordinal),
        MemberExpr member => Member(Evaluate(member.Target), Evaluate(member.Key)),
        SliceExpr slice => Slice(Evaluate(slice.Target), slice.Start is null ? null : Evaluate(slice.Start), slice.Stop is null ? null : Evaluate(slice.Stop)),
        CallExpr call => Call(call),
        FilterExpr filter => TemplateFilters.Apply(filter.Name, Evaluate(filter.Value), filter.Args.Select(Evaluate).ToList()),
        TestExpr test => TemplateFilters.Test(test.Name, Evaluate(test.Value)) != test.Negated,
        UnaryExpr { Op: "not" } unary => !TemplateValues.Truthy(Evaluate(unary.Operand)),
        UnaryExpr unary => Negate(Evaluate(unary.Operand)),
        BinaryExpr { Op: "and" } and => TemplateValues.Truthy(Evaluate(and.Left)) ? Evaluate(and.Right) : Evaluate(and.Left),
        BinaryExpr { Op: "or" } or => TemplateValues.Truthy(Evaluate(or.Left)) ? Evaluate(or.Left) : Evaluate(or.Right),
        BinaryExpr binary => TemplateOperators.Apply(binary.Op, Evaluate(binary.Left), Evaluate(binary.Right)),
        ConditionalExpr conditional => TemplateValues.Truthy(Evaluate(conditional.Condition))
            ? Evaluate(conditional.Then)
            : conditional.Else is null ? Undefined.Value : Evaluate(conditional.Else),
        _ => throw new TemplateException($"Unsupported expression {expr.GetType().Name}."),
    };

    private static object? Negate(object? value) => value is long l ? -l : (object)(-TemplateValues.Number(value));

    private static object? Member(object? target, object? key) => (target, key) switch
    {
        (Dictionary<string, object?> dict, string name) => dict.TryGetValue(name, out object? value) ? value : TemplateMethods.Bind(target, name),
        (List<object?> list, long index) => index < 0 ? (list.Count + index >= 0 ? list[(int)(list.Count + index)] : Undefined.Value) : index < list.Count ? list[(int)index] : Undefined.Value,
        (string text, long index) => Slice(text, index, index == -1 ? null : index + 1),
        (_, string name) => TemplateMethods.Bind(target, name),
        _ => Undefined.Value,
    };

    private static object? Slice(object? target, object? start, object? stop)
    {
        int Clamp(object? bound, int length, int fallback)
        {
            if (bound is null)
            {
                return fallback;
            }
            int at = (int)TemplateValues.Number(bound);
            return Math.Clamp(at < 0 ? length + at : at, 0, length);
        }
        switch (target)
        {
            case List<object?> list:
                {
                    int from = Clamp(start, list.Count, 0);
                    int to = Clamp(stop, list.Count, list.Count);
                    return to > from ? list.GetRange(from, to - from) : [];
                }
            case string text:
                {
                    int from = Clamp(start, text.Length, 0);
                    int to = Clamp(stop, text.Length, text.Length);
                    return to > from ? text[from..to] : string.Empty;
                }
            default:
                return Undefined.Value;
        }
    }

    private object? Call(CallExpr call)
    {
        if (Evaluate(call.Callee) is not TemplateFunction function)
        {
            throw new TemplateException("Called something that is not a function.");
        }
        var keywords = call.Keywords.ToDictionary(k => k.Name, k => Evaluate(k.Value), StringComparer.Ordinal);
        return function(call.Args.Select(Evaluate).ToList(), keywords);
    }

    private static List<object?> Range(List<object?> args)
    {
        long[] n = args.Select(a => (long)TemplateValues.Number(a)).ToArray();
        (long start, long stop, long step) = n.Length switch
        {
            1 => (0L, n[0], 1L),
            2 => (n[0], n[1], 1L),
            _ => (n[0], n[1], n[2]),
        };
        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            result.Add(i);
        }
        return result;
    }
}

internal static class TemplateOperators
{
    public static object? Apply(string op, object? left, object? right) => op switch
    {
        "==" => TemplateValues.AreEqual(left, right),
        "!=" => !TemplateValues.AreEqual(left, right),
        "<" or ">" or "<=" or ">=" => Compare(op, left, right),
        "in" => right switch
        {
            string s => left is string sub && s.Contains(sub, StringComparison.Ordinal),
            Dictionary<string, object?> dict => left is string key && dict.ContainsKey(key),
            List<object?> list => list.Any(item => TemplateValues.AreEqual(item, left)),
            _ => false,
        },
        "~" => TemplateValues.Render(left) + TemplateValues.Render(right),
        "+" => (left, right) switch
        {
            (string a, _) => a + TemplateValues.Render(right),
            (_, string b) => TemplateValues.Render(left) + b,
            (List<object?> a, List<object?> b) => a.Concat(b).ToList(),
            (long a, long b) => a + b,
            _ => TemplateValues.Number(left) + TemplateValues.Number(right),
        },
        "-" => left is long a && right is long b ? a - b : (object)(TemplateValues.Number(left) - TemplateValues.Number(right)),
        "*" => left is string s && right is long times ? string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, times)))
            : left is long x && right is long y ? x * y : (object)(TemplateValues.Number(left) * TemplateValues.Number(right)),
        "/" => TemplateValues.Number(left) / TemplateValues.Number(right),
        "//" => (long)Math.Floor(TemplateValues.Number(left) / TemplateValues.Number(right)),
        "%" => left is long m && right is long n ? ((m % n) + n) % n : (object)(TemplateValues.Number(left) % TemplateValues.Number(right)),
        _ => throw new TemplateException($"Unsupported operator '{op}'."),
    };

    private static bool Compare(string op, object? left, object? right)
    {
        int order = left is string a && right is string b
            ? string.CompareOrdinal(a, b)
            : TemplateValues.Number(left).CompareTo(TemplateValues.Number(right));
        return op switch
        {
            "<" => order < 0,
            ">" => order > 0,
            "<=" => order <= 0,
            _ => order >= 0,
        };
    }
}
