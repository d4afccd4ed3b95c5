from xlsxflow.templates import plan_templates, write_templates


def test_templates_for_one_committee(workspace):
    jobs = plan_templates(workspace.config, workspace.roster, workspace.outbox, committees=["T01"])
    paths = write_templates(jobs, workspace.config)
    assert [p.name for p in paths] == [
        "T01_莲溪镇党委_创新探索型项目申报表.xlsx",
        "T01_莲溪镇党委_典型示范型项目申报表.xlsx",
        "T01_莲溪镇党委_制度推广型项目申报表.xlsx",
    ]
