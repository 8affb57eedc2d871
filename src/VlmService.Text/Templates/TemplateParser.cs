using System.Globalization;

namespace VlmService.Text.Templates;

/// <summary>Parses template tokens into statements and expressions (the subset chat templates use).</summary>
internal sealed class TemplateParser(List<TemplateToken> tokens)
{
    private int _at;

    public static List<Node> Parse(string template)
    {
        var parser = new TemplateParser(TemplateLexer.Tokenize(template));
        List<Node> nodes = parser.Block(out string? stop);
        if (stop is not null)
        {
            throw new TemplateException($"Unexpected '{{% {stop} %}}'.");
        }
        return nodes;
    }

    private TemplateToken Peek(int ahead = 0) => tokens[Math.Min(_at + ahead, tokens.Count - 1)];

    private TemplateToken Next() => tokens[_at++];

    private bool IsOp(string op) => Peek().Kind == TokenKind.Operator && Peek().Value == op;

    private bool IsName(string name) => Peek().Kind == TokenKind.Name && Peek().Value == name;

    private void Expect(TokenKind kind, string? value = null)
    {
        TemplateToken token = Next();
        if (token.Kind != kind || (value is not null && token.Value != value))
        {
            throw new TemplateException($"Expected {value ?? kind.ToString()} but found '{token.Value}'.");
        }
    }

    private string ExpectName()
    {
        TemplateToken token = Next();
        return token.Kind == TokenKind.Name ? token.Value : throw new TemplateException($"Expected a name but found '{token.Value}'.");
    }

    /// <summary>Nodes until a block keyword that this level does not own (returned in <paramref name="stop"/>).</summary>
    private List<Node> Block(out string? stop)
    {
        var nodes = new List<Node>();
        while (true)
        {
            TemplateToken token = Peek();
            switch (token.Kind)
            {
                case TokenKind.End:
                    stop = null;
                    return nodes;
                case TokenKind.Text:
                    _at++;
                    nodes.Add(new TextNode(token.Value));
                    break;
                case TokenKind.ExpressionStart:
                    _at++;
                    nodes.Add(new OutputNode(Expression()));
                    Expect(TokenKind.ExpressionEnd);
                    break;
                case TokenKind.StatementStart:
                    string keyword = Peek(1).Value;
                    if (keyword is "endif" or "elif" or "else" or "endfor")
                    {
                        stop = keyword;
                        return nodes;
                    }
                    _at += 2;
                    nodes.Add(keyword switch
                    {
                        "if" => If(),
                        "for" => For(),
                        "set" => Set(),
                        _ => throw new TemplateException($"Unsupported statement '{keyword}'."),
                    });
                    break;
                default:
                    throw new TemplateException($"Unexpected '{token.Value}'.");
            }
        }
    }

    private IfNode If()
    {
        var branches = new List<(Expr, List<Node>)>();
        List<Node> otherwise = [];
        Expr condition = Expression();
        Expect(TokenKind.StatementEnd);
        while (true)
        {
            List<Node> body = Block(out string? stop);
            branches.Add((condition, body));
            _at += 2;
            if (stop == "elif")
            {
                condition = Expression();
                Expect(TokenKind.StatementEnd);
                continue;
            }
            if (stop == "else")
            {
                Expect(TokenKind.StatementEnd);
                otherwise = Block(out stop);
                _at += 2;
            }
            if (stop != "endif")
            {
                throw new TemplateException("Missing {% endif %}.");
            }
            Expect(TokenKind.StatementEnd);
            return new IfNode(branches, otherwise);
        }
    }

    private ForNode For()
    {
        var targets = new List<string> { ExpectName() };
        while (IsOp(","))
        {
            _at++;
            targets.Add(ExpectName());
        }
        Expect(TokenKind.Name, "in");
        Expr iterable = Ternary(allowConditional: false);
        Expr? filter = null;
        if (IsName("if"))
        {
            _at++;
            filter = Expression();
        }
        Expect(TokenKind.StatementEnd);
        List<Node> body = Block(out string? stop);
        List<Node> otherwise = [];
        _at += 2;
        if (stop == "else")
        {
            Expect(TokenKind.StatementEnd);
            otherwise = Block(out stop);
            _at += 2;
        }
        if (stop != "endfor")
        {
            throw new TemplateException("Missing {% endfor %}.");
        }
        Expect(TokenKind.StatementEnd);
        return new ForNode(targets, iterable, filter, body, otherwise);
    }

    private SetNode Set()
    {
        Expr target = Postfix();
        Expect(TokenKind.Operator, "=");
        Expr value = Expression();
        Expect(TokenKind.StatementEnd);
        return new SetNode(target, value);
    }

    public Expr Expression() => Ternary(allowConditional: true);

    private Expr Ternary(bool allowConditional)
    {
        Expr value = Or();
        if (allowConditional && IsName("if"))
        {
            _at++;
            Expr condition = Or();
            Expr? otherwise = null;
            if (IsName("else"))
            {
                _at++;
                otherwise = Ternary(allowConditional: true);
            }
            return new ConditionalExpr(condition, value, otherwise);
        }
        return value;
    }

    private Expr Or()
    {
        Expr left = And();
        while (IsName("or"))
        {
            _at++;
            left = new BinaryExpr("or", left, And());
        }
        return left;
    }

    private Expr And()
    {
        Expr left = Not();
        while (IsName("and"))
        {
            _at++;
            left = new BinaryExpr("and", left, Not());
        }
        return left;
    }

    private Expr Not()
    {
        if (IsName("not"))
        {
            _at++;
            return new UnaryExpr("not", Not());
        }
        return Comparison();
    }

    private Expr Comparison()
    {
        Expr left = Concat();
        while (true)
        {
            if (Peek().Kind == TokenKind.Operator && Peek().Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                string op = Next().Value;
                left = new BinaryExpr(op, left, Concat());
            }
            else if (IsName("in"))
            {
                _at++;
                left = new BinaryExpr("in", left, Concat());
            }
            else if (IsName("not") && Peek(1).Kind == TokenKind.Name && Peek(1).Value == "in")
            {
                _at += 2;
                left = new UnaryExpr("not", new BinaryExpr("in", left, Concat()));
            }
            else if (IsName("is"))
            {
                _at++;
                bool negated = IsName("not");
                if (negated)
                {
                    _at++;
                }
                left = new TestExpr(left, ExpectName(), negated);
            }
            else
            {
                return left;
            }
        }
    }

    private Expr Concat()
    {
        Expr left = Additive();
        while (IsOp("~"))
        {
            _at++;
            left = new BinaryExpr("~", left, Additive());
        }
        return left;
    }

    private Expr Additive()
    {
        Expr left = Multiplicative();
        while (IsOp("+") || IsOp("-"))
        {
            string op = Next().Value;
            left = new BinaryExpr(op, left, Multiplicative());
        }
        return left;
    }

    private Expr Multiplicative()
    {
        Expr left = Unary();
        while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%"))
        {
            string op = Next().Value;
            left = new BinaryExpr(op, left, Unary());
        }
        return left;
    }

    private Expr Unary()
    {
        if (IsOp("-"))
        {
            _at++;
            return new UnaryExpr("-", Unary());
        }
        return Postfix();
    }

    private Expr Postfix()
    {
        Expr value = Primary();
        while (true)
        {
            if (IsOp("."))
            {
                _at++;
                value = new MemberExpr(value, new LiteralExpr(ExpectName()), IsAttribute: true);
            }
            else if (IsOp("["))
            {
                _at++;
                Expr? start = IsOp(":") ? null : Expression();
                if (IsOp(":"))
                {
                    _at++;
                    Expr? stop = IsOp("]") ? null : Expression();
                    Expect(TokenKind.Operator, "]");
                    value = new SliceExpr(value, start, stop);
                    continue;
                }
                Expect(TokenKind.Operator, "]");
                value = new MemberExpr(value, start!, IsAttribute: false);
            }
            else if (IsOp("("))
            {
                _at++;
                (List<Expr> args, List<(string, Expr)> keywords) = Arguments();
                value = new CallExpr(value, args, keywords);
            }
            else if (IsOp("|"))
            {
                _at++;
                string name = ExpectName();
                List<Expr> args = [];
                if (IsOp("("))
                {
                    _at++;
                    args = Arguments().Args;
                }
                value = new FilterExpr(value, name, args);
            }
            else
            {
                return value;
            }
        }
    }

    private (List<Expr> Args, List<(string, Expr)> Keywords) Arguments()
    {
        var args = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (Peek().Kind == TokenKind.Name && Peek(1).Kind == TokenKind.Operator && Peek(1).Value == "=")
            {
                string name = Next().Value;
                _at++;
                keywords.Add((name, Expression()));
            }
            else
            {
                args.Add(Expression());
            }
            if (IsOp(","))
            {
                _at++;
            }
        }
        _at++;
        return (args, keywords);
    }

    private Expr Primary()
    {
        TemplateToken token = Next();
        switch (token.Kind)
        {
            case TokenKind.String:
                string text = token.Value;
                while (Peek().Kind == TokenKind.String)
                {
                    text += Next().Value;
                }
                return new LiteralExpr(text);
            case TokenKind.Number:
                return new LiteralExpr(token.Value.Contains('.', StringComparison.Ordinal)
                    ? double.Parse(token.Value, CultureInfo.InvariantCulture)
                    : (object)long.Parse(token.Value, CultureInfo.InvariantCulture));
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true),
                    "false" or "False" => new LiteralExpr(false),
                    "none" or "None" => new LiteralExpr(null),
                    _ => new NameExpr(token.Value),
                };
            case TokenKind.Operator when token.Value == "(":
                Expr inner = Expression();
                Expect(TokenKind.Operator, ")");
                return inner;
            case TokenKind.Operator when token.Value == "[":
                var items = new List<Expr>();
                while (!IsOp("]"))
                {
                    items.Add(Expression());
                    if (IsOp(","))
                    {
                        _at++;
                    }
                }
                _at++;
                return new ListExpr(items);
            case TokenKind.Operator when token.Value == "{":
                var pairs = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    Expr key = Expression();
                    Expect(TokenKind.Operator, ":");
                    pairs.Add((key, Expression()));
                    if (IsOp(","))
                    {
                        _at++;
                    }
                }
                _at++;
                return new DictExpr(pairs);
            default:
                throw new TemplateException($"Unexpected '{token.Value}' in expression.");
        }
    }
}
