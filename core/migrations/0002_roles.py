"""Create one group per role (see core.roles)."""

from django.db import migrations

ROLES = ["risk_officer", "compliance_analyst", "compliance_supervisor", "wealth_advisor", "auditor", "oms_client"]


def forward(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def backward(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(forward, backward)]
