"""Centreon's CLAPI import (`centreon -i FILE`) as Centreon Web's own classes read it, for the lines
cxcheck writes (templates/centreon/cxcheck-clapi.txt and `cxcheck config --engine centreon`).
Centreon Web cannot run here: each rule below is a fact read in its source, cited by file and
line, and `Clapi` applies a file to a model of the configuration, rule by rule.

Source: github.com/centreon/centreon-archived at tag 22.10.2 (Centreon Web; the 23.04 code moved
to github.com/centreon/centreon, whose centreonAPI.class.php import() is unchanged at 055ea90a),
www/class/centreon-clapi/*.class.php, and the tables in www/install/createTables.sql.
"""

from __future__ import annotations

import re

API = "centreonAPI.class.php"
OBJ = "centreonObject.class.php"
CMD_ = "centreonCommand.class.php"
HOST_ = "centreonHost.class.php"
SVC_ = "centreonService.class.php"
STPL_ = "centreonServiceTemplate.class.php"
SQL = "www/install/createTables.sql"

RULES = {
    "split": (f"{API}:790-828", "import() reads the file line by line and splits each on every ';': field 0 is "
                                "the object, field 1 the action, the rest its parameters; blank lines are skipped. "
                                "No field can hold a ';' and no value a line break."),
    "comment": (f"{API}:804-818, 969-980", "a line starting with '#' is no comment: its first field is taken as an "
                                           "object, iniObject() instantiates a class of that name, which does not "
                                           "exist; the PHP Error is no \\Exception, escapes the per-line catch and "
                                           "stops the whole import"),
    "object": (f"{API}:141-265", "the objects are the keys of relationObject: CMD, HOST, SERVICE, HTPL, STPL, ..."),
    "fields": ("see ACTIONS", "each action takes its parameters in a fixed order and fails on fewer than it needs"),
    "cmd-type": (f"{CMD_}:86-95, 133-135", "a command's type is check, notif, misc or discovery (or their numbers)"),
    "cmd-line": (f"{CMD_}:140", "ADD keeps field 2 alone as the command line: a ';' in it would cut it"),
    "setparam": ("see SETPARAM", "setparam writes the column its parameter maps to (a few names are translated, "
                                 "others prefixed with the table's prefix); a name that maps to no column of the table "
                                 "fails in SQL"),
    "setmacro": ("see ACTIONS", "setmacro's fields after the macro's value differ: STPL takes description then "
                                "is_password, HTPL/HOST and SERVICE take is_password then description"),
    "defined": ("see DEFINED", "an object a line names (the target, a template, a command) must have been added by an "
                               "earlier line"),
    "name": (f"{OBJ}:638-651", "ADD strips the characters of illegal_object_name_chars from a name without a word "
                               f"({CMD_}:132, {HOST_}:283, {SVC_}:470, {STPL_}:401): a name holding one is not the "
                               "name later lines use"),
}

# (object, action) -> (parameter names in order, how many are needed, citation)
ACTIONS = {
    ("CMD", "ADD"): (("name", "type", "line"), 3, f"{CMD_}:51-53, 79-85, 123-128"),
    ("CMD", "setparam"): (("name", "param", "value"), 3, f"{OBJ}:52, {CMD_}:150-155"),
    ("HTPL", "ADD"): (("name", "alias", "address", "templates", "instance", "hostgroups"), 6,
                      f"{HOST_}:80-85, 150-157, 276-281 (HTPL extends HOST: centreonHostTemplate.class.php:40)"),
    ("HOST", "ADD"): (("name", "alias", "address", "templates", "instance", "hostgroups"), 6,
                      f"{HOST_}:80-85, 150-157, 276-281, 300-317 (an instance is needed)"),
    ("HTPL", "setparam"): (("name", "param", "value"), 3, f"{OBJ}:52, {HOST_}:691-696"),
    ("HOST", "setparam"): (("name", "param", "value"), 3, f"{OBJ}:52, {HOST_}:691-696"),
    ("HTPL", "setmacro"): (("name", "macro", "value", "is_password", "description"), 3, f"{HOST_}:932-980"),
    ("HOST", "setmacro"): (("name", "macro", "value", "is_password", "description"), 3, f"{HOST_}:932-980"),
    ("STPL", "ADD"): (("name", "alias", "template"), 3, f"{STPL_}:52-55, 104-110, 391-396"),
    ("STPL", "setparam"): (("name", "param", "value"), 3, f"{STPL_}:55, 465-470"),
    ("STPL", "setmacro"): (("name", "macro", "value", "description", "is_password"), 3, f"{STPL_}:670-686"),
    ("STPL", "addhosttemplate"): (("name", "hosttemplate"), 2, f"{STPL_}:854-945 (__call: add + hosttemplate)"),
    ("SERVICE", "ADD"): (("host", "service", "template"), 3, f"{SVC_}:79-81, 135-138, 454-459"),
    ("SERVICE", "setparam"): (("host", "service", "param", "value"), 4, f"{SVC_}:82, 694-700"),
    ("SERVICE", "setmacro"): (("host", "service", "macro", "value", "is_password", "description"), 4,
                              f"{SVC_}:919-985"),
}
CMD_TYPES = {"check", "notif", "misc", "discovery", "1", "2", "3", "4"}

# The tables' columns (createTables.sql), which setparam writes.
COLUMNS = {
    "command": ("613-629", "command_id connector_id command_name command_line command_example command_type enable_shell "
                           "command_comment command_activate graph_id cmd_cat_id command_locked"),
    "host": ("1326-1388", "host_id host_template_model_htm_id command_command_id command_command_id_arg1 "
                          "timeperiod_tp_id timeperiod_tp_id2 command_command_id2 command_command_id_arg2 host_name "
                          "host_alias host_address display_name host_max_check_attempts host_check_interval "
                          "host_retry_check_interval host_active_checks_enabled host_passive_checks_enabled "
                          "host_checks_enabled initial_state host_obsess_over_host host_check_freshness "
                          "host_freshness_threshold host_event_handler_enabled host_low_flap_threshold "
                          "host_high_flap_threshold host_flap_detection_enabled flap_detection_options "
                          "host_process_perf_data host_retain_status_information host_retain_nonstatus_information "
                          "host_notification_interval host_recovery_notification_delay host_notification_options "
                          "host_notifications_enabled contact_additive_inheritance cg_additive_inheritance "
                          "host_first_notification_delay host_acknowledgement_timeout host_stalking_options "
                          "host_snmp_community host_snmp_version host_location host_comment geo_coords host_locked "
                          "host_register host_activate"),
    "extended_host_information": ("1229-1249", "ehi_notes ehi_notes_url ehi_action_url ehi_icon_image "
                                               "ehi_icon_image_alt ehi_vrml_image ehi_statusmap_image ehi_2d_coords "
                                               "ehi_3d_coords"),
    "service": ("1710-1767", "service_id service_template_model_stm_id command_command_id timeperiod_tp_id "
                             "command_command_id2 timeperiod_tp_id2 service_description service_alias display_name "
                             "service_is_volatile service_max_check_attempts service_normal_check_interval "
                             "service_retry_check_interval service_active_checks_enabled service_passive_checks_enabled "
                             "initial_state service_parallelize_check service_obsess_over_service "
                             "service_check_freshness service_freshness_threshold service_event_handler_enabled "
                             "service_low_flap_threshold service_high_flap_threshold service_flap_detection_enabled "
                             "service_process_perf_data service_retain_status_information "
                             "service_retain_nonstatus_information service_notification_interval "
                             "service_recovery_notification_delay service_notification_options "
                             "service_notifications_enabled contact_additive_inheritance cg_additive_inheritance "
                             "service_inherit_contacts_from_host service_use_only_contacts_from_host "
                             "service_first_notification_delay service_acknowledgement_timeout "
                             "service_stalking_options service_comment geo_coords command_command_id_arg "
                             "command_command_id_arg2 service_locked service_register service_activate"),
    "extended_service_information": ("1253-1269", "esi_notes esi_notes_url esi_action_url esi_icon_image "
                                                  "esi_icon_image_alt graph_id"),
}
COLUMN_SETS = {table: set(names.split()) for table, (_, names) in COLUMNS.items()}

# setparam: names translated before the prefix, the prefix, the extended table's names and prefix.
SETPARAM = {
    "CMD": ({"graph": "graph_id", "enable_shell": "enable_shell", "connector_id": "connector_id"}, "command_",
            (), "", "command", f"{CMD_}:159-165"),
    "HOST": ({"check_command": "command_command_id", "check_command_arguments": "command_command_id_arg1",
              "event_handler": "command_command_id2", "event_handler_arguments": "command_command_id_arg2",
              "check_period": "timeperiod_tp_id", "notification_period": "timeperiod_tp_id2",
              "geo_coords": "geo_coords", "contact_additive_inheritance": "contact_additive_inheritance",
              "cg_additive_inheritance": "cg_additive_inheritance", "flap_detection_options": "flap_detection_options",
              "host_notification_options": "host_notification_options", "timezone": "host_location"}, "host_",
             ("notes", "notes_url", "action_url", "icon_image", "icon_image_alt", "statusmap_image", "2d_coords",
              "3d_coords"), "ehi_", "host", f"{HOST_}:702-772, 778-779"),
    "STPL": ({"check_command": "command_command_id", "check_command_arguments": "command_command_id_arg",
              "event_handler": "command_command_id2", "event_handler_arguments": "command_command_id_arg2",
              "check_period": "timeperiod_tp_id", "notification_period": "timeperiod_tp_id2",
              "flap_detection_options": "flap_detection_options", "template": "service_template_model_stm_id",
              "graphtemplate": "graph_id", "contact_additive_inheritance": "contact_additive_inheritance",
              "cg_additive_inheritance": "cg_additive_inheritance",
              "service_notification_options": "service_notification_options"}, "service_",
             ("notes", "notes_url", "action_url", "icon_image", "icon_image_alt"), "esi_", "service",
             f"{STPL_}:490-565, 572-573"),
}
SETPARAM["HTPL"] = SETPARAM["HOST"]
SETPARAM["SERVICE"] = ({**SETPARAM["STPL"][0], "geo_coords": "geo_coords"}, *SETPARAM["STPL"][1:5],
                       f"{SVC_}:722-801, 812-813")
EXTENDED_TABLE = {"host": "extended_host_information", "service": "extended_service_information"}
# What a line refers to, and where the class looks it up (failing when it is not there).
DEFINED = {
    "command": f"{CMD_}:326-334 (getId, for check_command)",
    "service template": f"{STPL_}:405-416 (ADD's parent), {SVC_}:471-483 (SERVICE ADD), {STPL_}:470-485 (setparam), "
                        f"{STPL_}:680-696 (setmacro)",
    "host template": f"{HOST_}:285-296 (ADD's templates), {STPL_}:934-941 (addhosttemplate), {HOST_}:698, 796 "
                     f"(setparam), {HOST_}:939-941 (setmacro)",
    "host": f"{SVC_}:463-467 (SERVICE ADD), {HOST_}:698, 796 (setparam), {HOST_}:939-941 (setmacro)",
    "service": f"{SVC_}:701-718 (setparam), {SVC_}:926-945 (setmacro)",
}
ILLEGAL_OBJECT_NAME_CHARS = "`~!$%^&*|'\"<>?,()="       # Centreon's default, as Nagios'


def column(obj: str, param: str) -> tuple[str, str]:
    """(table, column) a setparam parameter is written to."""
    names, prefix, extended, extended_prefix, table, _ = SETPARAM[obj]
    if param in names:
        return table, names[param]
    if param in extended:
        return EXTENDED_TABLE[table], extended_prefix + param
    if param.startswith(prefix):
        return table, param
    return table, prefix + param


class Clapi:
    """A CLAPI file applied to a model of Centreon's configuration, line by line; `errors` name the
    line, the rule and its citation."""

    def __init__(self, text: str = "", hosts=()):
        self.commands: dict[str, dict] = {}
        self.stpl: dict[str, dict] = {}
        self.htpl: dict[str, dict] = {}
        self.hosts: dict[str, dict] = {name: {"params": {}, "macros": {}, "templates": []} for name in hosts}
        self.services: dict[tuple[str, str], dict] = {}
        self.errors: list[str] = []
        self.read(text)

    def read(self, text: str, origin: str = ""):
        for number, line in enumerate(text.split("\n"), 1):
            if line.strip():
                self.apply(f"{origin}line {number}", line)
        return self

    def error(self, where: str, rule: str, text: str, cite: str | None = None):
        self.errors.append(f"{where}: {text} [{rule}: {cite or RULES[rule][0]}]")

    def apply(self, where: str, line: str):
        if line.lstrip().startswith("#"):
            return self.error(where, "comment", "a comment line stops the import")
        if "\r" in line:
            return self.error(where, "split", "a carriage return in a line")
        fields = line.split(";")
        obj, action, args = fields[0], fields[1] if len(fields) > 1 else "", fields[2:]
        if obj not in {"CMD", "HOST", "SERVICE", "HTPL", "STPL"}:
            return self.error(where, "object", f"unknown object {obj!r}")
        key = (obj, action)
        if key not in ACTIONS:
            return self.error(where, "fields", f"{obj} has no action {action!r} here", "ACTIONS")
        names, needed, cite = ACTIONS[key]
        if len(args) < needed:
            return self.error(where, "fields", f"{obj};{action} takes {';'.join(names)}: {len(args)} fields", cite)
        if len(args) > len(names):
            rule = "cmd-line" if key == ("CMD", "ADD") else "split"
            return self.error(where, rule, f"{obj};{action} takes {';'.join(names)}: the ';' in a value cut it")
        values = dict(zip(names, args))
        getattr(self, f"_{obj.lower()}_{action.lower()}")(where, values, cite)

    # the objects and actions ----------------------------------------------------------------

    def _named(self, where, obj, name) -> bool:
        bad = [char for char in name if char in ILLEGAL_OBJECT_NAME_CHARS]
        if bad:
            self.error(where, "name", f"{obj} name {name!r} holds {''.join(bad)!r}")
        return not bad

    def _cmd_add(self, where, v, cite):
        if not self._named(where, "command", v["name"]):
            return
        if v["type"] not in CMD_TYPES:
            return self.error(where, "cmd-type", f"command type {v['type']!r}")
        if v["name"] in self.commands:
            return self.error(where, "defined", f"command {v['name']} added twice", cite)
        self.commands[v["name"]] = {"line": v["line"], "params": {}}

    def _cmd_setparam(self, where, v, cite):
        if v["name"] not in self.commands:
            return self.error(where, "defined", f"command {v['name']} used before it is added", f"{CMD_}:156-186")
        if self._column(where, "CMD", v["param"]):
            self.commands[v["name"]]["params"][v["param"]] = v["value"]

    def _column(self, where, obj, param) -> bool:
        table, name = column(obj, param)
        if name not in COLUMN_SETS[table]:
            self.error(where, "setparam", f"{obj} setparam {param!r} writes {table}.{name}, which "
                                          f"{SQL}:{COLUMNS[table][0]} does not have", SETPARAM[obj][5])
            return False
        return True

    def _reference(self, where, kind, name, table) -> bool:
        if name not in table:
            self.error(where, "defined", f"{kind} {name} used before it is added", DEFINED[kind])
            return False
        return True

    def _setparam(self, where, obj, entry, param, value):
        if not self._column(where, obj, param):
            return
        if param == "check_command" and not self._reference(where, "command", value, self.commands):
            return
        if param == "template" and not self._reference(where, "service template", value, self.stpl):
            return
        entry["params"][param] = value

    def _macro(self, where, obj, entry, v):
        if not re.fullmatch(r"[A-Za-z0-9_]+", v["macro"]):
            return self.error(where, "setmacro", f"macro name {v['macro']!r}", ACTIONS[(obj, "setmacro")][2])
        password = v.get("is_password", "")
        if password not in ("", "0", "1"):
            return self.error(where, "setmacro", f"is_password {password!r}: the fields out of {obj}'s order "
                                                 f"({';'.join(ACTIONS[(obj, 'setmacro')][0])})",
                              ACTIONS[(obj, "setmacro")][2])
        entry["macros"][v["macro"].upper()] = {"value": v["value"], "password": password == "1",
                                               "description": v.get("description", "")}

    def _htpl_add(self, where, v, cite, table=None):
        table = self.htpl if table is None else table
        if not self._named(where, "host", v["name"]):
            return
        templates = [t for t in v["templates"].split("|") if t]
        for template in templates:
            if not self._reference(where, "host template", template, self.htpl):
                return
        table[v["name"]] = {"alias": v["alias"], "templates": templates, "params": {}, "macros": {}}

    def _host_add(self, where, v, cite):
        if not v["instance"]:
            return self.error(where, "fields", "HOST;ADD needs an instance (poller)", cite)
        self._htpl_add(where, v, cite, self.hosts)

    def _htpl_setparam(self, where, v, cite, table=None, obj="HTPL"):
        table = self.htpl if table is None else table
        if self._reference(where, "host template" if obj == "HTPL" else "host", v["name"], table):
            self._setparam(where, obj, table[v["name"]], v["param"], v["value"])

    def _host_setparam(self, where, v, cite):
        self._htpl_setparam(where, v, cite, self.hosts, "HOST")

    def _htpl_setmacro(self, where, v, cite, table=None, obj="HTPL"):
        table = self.htpl if table is None else table
        if self._reference(where, "host template" if obj == "HTPL" else "host", v["name"], table):
            self._macro(where, obj, table[v["name"]], v)

    def _host_setmacro(self, where, v, cite):
        self._htpl_setmacro(where, v, cite, self.hosts, "HOST")

    def _stpl_add(self, where, v, cite):
        if not self._named(where, "service template", v["name"]):
            return
        if v["template"] and not self._reference(where, "service template", v["template"], self.stpl):
            return
        if v["name"] in self.stpl:
            return self.error(where, "defined", f"service template {v['name']} added twice", cite)
        self.stpl[v["name"]] = {"alias": v["alias"], "parent": v["template"] or None, "params": {}, "macros": {},
                                "host_templates": []}

    def _stpl_setparam(self, where, v, cite):
        if self._reference(where, "service template", v["name"], self.stpl):
            self._setparam(where, "STPL", self.stpl[v["name"]], v["param"], v["value"])

    def _stpl_setmacro(self, where, v, cite):
        if self._reference(where, "service template", v["name"], self.stpl):
            self._macro(where, "STPL", self.stpl[v["name"]], v)

    def _stpl_addhosttemplate(self, where, v, cite):
        if (self._reference(where, "service template", v["name"], self.stpl)
                and self._reference(where, "host template", v["hosttemplate"], self.htpl)):
            self.stpl[v["name"]]["host_templates"].append(v["hosttemplate"])

    def _service_add(self, where, v, cite):
        if not (self._reference(where, "host", v["host"], self.hosts) and self._named(where, "service", v["service"])
                and self._reference(where, "service template", v["template"], self.stpl)):
            return
        self.services[(v["host"], v["service"])] = {"template": v["template"], "params": {}, "macros": {}}

    def _service(self, where, v):
        key = (v["host"], v["service"])
        return self.services[key] if self._reference(where, "service", key, self.services) else None

    def _service_setparam(self, where, v, cite):
        entry = self._service(where, v)
        if entry is not None:
            self._setparam(where, "SERVICE", entry, v["param"], v["value"])

    def _service_setmacro(self, where, v, cite):
        entry = self._service(where, v)
        if entry is not None:
            self._macro(where, "SERVICE", entry, v)

    # reading the model ----------------------------------------------------------------------

    def stpl_chain(self, name: str) -> list[dict]:
        chain = []
        while name:
            chain.append(self.stpl[name])
            name = self.stpl[name]["parent"]
        return chain

    def stpl_macros(self, name: str) -> dict:
        macros = {}
        for entry in reversed(self.stpl_chain(name)):
            macros.update(entry["macros"])
        return macros

    def stpl_param(self, name: str, param: str):
        for entry in self.stpl_chain(name):
            if param in entry["params"]:
                return entry["params"][param]
        return None

    # what Centreon's generator gives the engine -----------------------------------------------

    def nagios_objects(self, host_lines: dict | None = None, service_lines: dict | None = None) -> str:
        """The engine's objects for this configuration, as Centreon generates them (Centreon Engine
        reads Nagios' object format): commands, templates (macros as custom variables), the hosts
        and services added. A service's check_command_arguments follow its command, or its
        template's (www/class/config-generate/abstract/service.class.php, getServiceCommand()).
        `host_lines` / `service_lines`: more directives by host name / (host, service)."""
        out = [f"define command {{\n    command_name {name}\n    command_line {command['line']}\n}}\n"
               for name, command in self.commands.items()]
        for name, entry in self.stpl.items():
            lines = [f"name {name}", "register 0", *([f"use {entry['parent']}"] if entry["parent"] else [])]
            lines += [f"{ENGINE_NAMES[k]} {v}" for k, v in entry["params"].items() if k in ENGINE_NAMES]
            lines += [f"_{m} {v['value']}".rstrip() for m, v in entry["macros"].items()]
            out.append(_define("service", lines))
        for name, entry in self.htpl.items():
            lines = [f"name {name}", "register 0"]
            lines += [f"{ENGINE_NAMES[k]} {v}" for k, v in entry["params"].items() if k in ENGINE_NAMES]
            lines += [f"_{m} {v['value']}".rstrip() for m, v in entry["macros"].items()]
            out.append(_define("host", lines))
        for name, entry in self.hosts.items():
            lines = [f"use {','.join([*entry['templates'], 'generic-host'])}", f"host_name {name}",
                     "address 127.0.0.1", *[f"_{m} {v['value']}".rstrip() for m, v in entry["macros"].items()],
                     *(host_lines or {}).get(name, [])]
            out.append(_define("host", lines))
        for (host, service), entry in self.services.items():
            command = entry["params"].get("check_command") or self.stpl_param(entry["template"], "check_command")
            arguments = entry["params"].get("check_command_arguments", "")
            lines = [f"use {entry['template']},generic-service", f"host_name {host}",
                     f"service_description {service}", f"check_command {command}{arguments}",
                     *[f"_{m} {v['value']}".rstrip() for m, v in entry["macros"].items()],
                     *(service_lines or {}).get((host, service), [])]
            out.append(_define("service", lines))
        return "\n".join(out)


# CLAPI parameter -> engine directive (what Centreon's generator writes)
ENGINE_NAMES = {"check_command": "check_command", "max_check_attempts": "max_check_attempts",
                "normal_check_interval": "check_interval", "check_interval": "check_interval",
                "retry_check_interval": "retry_interval", "active_checks_enabled": "active_checks_enabled",
                "passive_checks_enabled": "passive_checks_enabled", "process_perf_data": "process_perf_data",
                "notification_interval": "notification_interval"}


def _define(kind: str, lines: list[str]) -> str:
    return f"define {kind} {{\n" + "".join(f"    {line}\n" for line in lines) + "}\n"
