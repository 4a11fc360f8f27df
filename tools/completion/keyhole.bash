# SPDX-License-Identifier: GPL-2.0-only
#
# Bash completion for keyhole(1): its commands and options, and each
# command's own, as `keyhole --help` and `keyhole COMMAND --help` list
# them (so it never falls behind the tool); technique names; a table's
# columns after --output; layout sources; and in place of VM the pids and
# names of the VMs `keyhole list` shows. Install it as
# /usr/share/bash-completion/completions/keyhole, or source it.

# Access techniques, as `keyhole techniques VM` names them.
_keyhole_techniques="agent pmemsave dump migrate bgsnap kmap memmap pvreadv
procmem kread kpause ptrace hmp gdbstub"

# The options that take a value (their value is not the command).
_keyhole_with_value="-t --technique -l --layout -c --connect --cache-dir
-o --output"

_keyhole_commands()
{
	"$1" --help 2>/dev/null |
		sed -n '/^Commands:/,/^$/{/^  [a-z]/{s/^  \([a-z]*\).*/\1/p}}'
}

# The long options of keyhole and of command $2 (if any): those at the
# start of a line of their --help.
_keyhole_options()
{
	{
		"$1" --help
		[[ -n $2 ]] && "$1" "$2" --help
	} 2>/dev/null | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' |
		grep -o -- '--.*' | sort -u
}

# A command's columns, lower case with '-' for a space (any case works).
_keyhole_columns()
{
	"$1" "$2" --help 2>/dev/null |
		sed -n '/^Columns/,/^$/{/^  [^ ]/{s/^  \(.\{12\}\).*/\1/;s/ *$//;s/ /-/g;p}}' |
		tr '[:upper:]' '[:lower:]'
}

_keyhole()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local kh=${COMP_WORDS[0]} cmd="" i word words
	local IFS=$' \t\n'

	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ " ${_keyhole_with_value//$'\n'/ } " == *" $word "* ]]; then
			((i++))
		elif [[ $word != -* ]]; then
			cmd=$word
			break
		fi
	done

	case $prev in
	-t | --technique)
		mapfile -t COMPREPLY < <(compgen -W "$_keyhole_techniques" -- "$cur")
		return ;;
	-l | --layout)
		mapfile -t COMPREPLY < <(compgen -W "auto qmp maps" -- "$cur")
		return ;;
	--cache-dir)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	-c | --connect)
		return ;;
	-o | --output)
		# Comma-separated: complete the last name, keep the rest.
		local done_part=""
		[[ $cur == *,* ]] && done_part=${cur%,*},
		[[ -n $cmd ]] || return
		words=$(_keyhole_columns "$kh" "$cmd")
		mapfile -t COMPREPLY < <(compgen -P "$done_part" -W "$words" \
			-- "${cur##*,}")
		compopt -o nospace 2>/dev/null
		return ;;
	esac

	if [[ $cur == -* ]]; then
		words=$(_keyhole_options "$kh" "$cmd")
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	elif [[ -z $cmd ]]; then
		words=$(_keyhole_commands "$kh")
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	elif [[ $cmd != list ]]; then
		# A VM: the pid or -name of one that keyhole list shows.
		words=$("$kh" list --noheadings --raw -o pid,name 2>/dev/null)
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	fi
}

complete -F _keyhole keyhole
