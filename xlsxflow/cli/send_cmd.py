"""``xlsxflow send DIR templates|feedback|reminders|summary``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from xlsxflow.cli.common import as_of_option, reports_errors, shown, workspace_argument

STATUS = {"sent": "已发送", "skipped": "已跳过", "dry-run": "已生成草稿", "failed": "发送失败"}


@click.command("send")
@workspace_argument
@click.argument("kind", type=click.Choice(["templates", "feedback", "reminders", "summary"]))
@click.option("--dry-run", is_flag=True, help="不发送，只把邮件写成 .eml 文件（mail/drafts）。")
@click.option(
    "--only",
    multiple=True,
    metavar="CODE",
    help="只发给这些党委（编号）或领导（姓名），可重复使用。",
)
@click.option("--resend", is_flag=True, help="已发送过的邮件也重新发送。")
@as_of_option("催报按此日期判断逾期和临近截止（默认今天）。")
@click.option("--smtp-host", help="覆盖配置中的 SMTP 服务器。")
@click.option("--smtp-port", type=int, help="覆盖配置中的 SMTP 端口。")
@reports_errors
def command(
    workspace: Path,
    kind: str,
    dry_run: bool,
    only: tuple[str, ...],
    resend: bool,
    as_of: dt.datetime | None,
    smtp_host: str | None,
    smtp_port: int | None,
) -> None:
    """发送邮件：templates 各党委的空白表格；feedback 退回修改的标注副本；
    reminders 催报（缺报事项和截止日期）；summary 最新汇总表给领导。

    SMTP 密码只从环境变量读取（变量名见配置 mail.password_env）。发送记录保存在
    工作区中，重复运行不会重复发送；templates 只附上该党委还没有收到过的表格
    （加 --resend 则附上其文件夹中的全部表格）。
    """
    from xlsxflow.letters import compose
    from xlsxflow.mail import deliver, ensure_templates, files_sent
    from xlsxflow.workspace import Workspace

    ws = Workspace.open(workspace)
    ensure_templates(ws.root)
    today = as_of.date() if as_of else dt.date.today()
    letters = compose(ws, kind, only, today, set() if resend else files_sent(ws.root))
    if not letters:
        click.echo("没有需要发送的邮件。")
        return
    outcomes = deliver(
        letters,
        ws.config.mail,
        ws.root,
        dry_run=dry_run,
        resend=resend,
        host=smtp_host,
        port=smtp_port,
    )
    failed = 0
    for o in outcomes:
        failed += o.status == "failed"
        detail = f"（{o.detail}）" if o.detail else ""
        click.echo(
            f"{STATUS[o.status]}："
            + shown(f"{o.letter.to_name} <{o.letter.to_addr}>，附件 ")
            + f"{len(o.letter.attachments)} 个{shown(detail)}"
        )
    sample = [x for x in letters if x.to_addr.lower().endswith(".invalid")]
    if sample and not dry_run:  # (init's sample roster: nothing sent there can arrive)
        click.echo(
            f"注意：{len(sample)} 位收件人的邮箱仍是示例地址（.invalid 域名，如 "
            f"{sample[0].to_addr}），发往这些地址的邮件无法送达。请在 roster.xlsx 中填写实际邮箱。",
            err=True,
        )
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUS}
    click.echo("合计：" + "，".join(f"{STATUS[s]} {n}" for s, n in counts.items() if n) + "。")
    raise SystemExit(1 if failed else 0)
