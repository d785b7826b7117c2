#!/bin/bash

__pgarchive_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__pgarchive_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__pgarchive_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__pgarchive_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_pgarchive() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    container|wal|standby|snapshot|clone|restorepoint|restore|status|check|verify|dump|cron|metrics|bash-completion|help)
        # Offer subcommand argument completions
        "_pgarchive_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'container wal standby snapshot clone restorepoint restore status check verify dump cron metrics bash-completion help' -- "${cur}"))
        ;;
    esac
}

_pgarchive_container() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|start|stop|status|purge|retire|resync|checkversions|upstream|initcron|dashboard|monitor)
        # Offer subcommand argument completions
        "_pgarchive_container_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init start stop status purge retire resync checkversions upstream initcron dashboard monitor' -- "${cur}"))
        ;;
    esac
}

_pgarchive_container_init() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --spread-checkpoint --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --upstream --upstream-replication --slot --pg-bindir --standby-port --btrfs-compression)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--upstream')
        return
        ;;
    '--upstream-replication')
        return
        ;;
    '--slot')
        return
        ;;
    '--pg-bindir')
        __pgarchive_add_completions -d
        return
        ;;
    '--standby-port')
        return
        ;;
    '--btrfs-compression')
        return
        ;;
    esac
}

_pgarchive_container_start() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_stop() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_status() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_purge() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --force --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_retire() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --force --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_resync() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --spread-checkpoint --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --pg-bindir)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--pg-bindir')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_checkversions() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_upstream() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_initcron() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --enable --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_container_dashboard() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container -l)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '-l')
        return
        ;;
    esac
}

_pgarchive_container_monitor() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    start|stop|status|list|du|log|fetch|compress)
        # Offer subcommand argument completions
        "_pgarchive_wal_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'start stop status list du log fetch compress' -- "${cur}"))
        ;;
    esac
}

_pgarchive_wal_start() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal_stop() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal_status() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal_list() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --include-retired --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal_du() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal_log() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose -f --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container -l)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '-l')
        return
        ;;
    esac
}

_pgarchive_wal_fetch() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --partial-ok --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_wal_compress() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_standby() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    start|stop|status|reload|restart|log)
        # Offer subcommand argument completions
        "_pgarchive_standby_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'start stop status reload restart log' -- "${cur}"))
        ;;
    esac
}

_pgarchive_standby_start() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_standby_stop() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_standby_status() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_standby_reload() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_standby_restart() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_standby_log() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose -f --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container -l)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '-l')
        return
        ;;
    esac
}

_pgarchive_snapshot() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|delete|expire|thin)
        # Offer subcommand argument completions
        "_pgarchive_snapshot_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list delete expire thin' -- "${cur}"))
        ;;
    esac
}

_pgarchive_snapshot_create() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --force --no-wait --checkpoint-upstream --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --replay-timeout)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--replay-timeout')
        return
        ;;
    esac
}

_pgarchive_snapshot_list() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_snapshot_delete() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --force --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion snapshot delete -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_snapshot_expire() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --show --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_snapshot_thin() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --show --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_clone() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|start|stop|restart|status|list|log|psql|duplicate|delete)
        # Offer subcommand argument completions
        "_pgarchive_clone_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create start stop restart status list log psql duplicate delete' -- "${cur}"))
        ;;
    esac
}

_pgarchive_clone_create() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --immediate --latest --start --version -h --help)
    repeating_options=(--allow)
    non_repeating_options=(-C --container --time --restore-point --lsn --xid --snapshot)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--time')
        return
        ;;
    '--restore-point')
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone create -- --restore-point "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    '--lsn')
        return
        ;;
    '--xid')
        return
        ;;
    '--snapshot')
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone create -- --snapshot "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    '--allow')
        return
        ;;
    esac
}

_pgarchive_clone_start() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone start -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_stop() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --all --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone stop -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_restart() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone restart -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_status() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone status -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_list() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --status --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_clone_log() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose -f --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container -l)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '-l')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone log -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_psql() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone psql -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_duplicate() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone duplicate -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_clone_delete() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --force --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion clone delete -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_restorepoint() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list)
        # Offer subcommand argument completions
        "_pgarchive_restorepoint_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list' -- "${cur}"))
        ;;
    esac
}

_pgarchive_restorepoint_create() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_restorepoint_list() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_restore() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --immediate --latest --version -h --help)
    repeating_options=(--tablespace-map)
    non_repeating_options=(-C --container --time --restore-point --lsn --xid --to --snapshot --port --socket-directory)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--time')
        return
        ;;
    '--restore-point')
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion restore -- --restore-point "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    '--lsn')
        return
        ;;
    '--xid')
        return
        ;;
    '--to')
        __pgarchive_add_completions -d
        return
        ;;
    '--snapshot')
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion restore -- --snapshot "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    '--port')
        return
        ;;
    '--socket-directory')
        return
        ;;
    '--tablespace-map')
        return
        ;;
    esac
}

_pgarchive_status() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --all --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --root)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--root')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_check() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --all --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --root --snapshot-max-age --max-lag --wal-max-silence --verify-max-age --min-free-percent)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--root')
        __pgarchive_add_completions -d
        return
        ;;
    '--snapshot-max-age')
        return
        ;;
    '--max-lag')
        return
        ;;
    '--wal-max-silence')
        return
        ;;
    '--verify-max-age')
        return
        ;;
    '--min-free-percent')
        return
        ;;
    esac
}

_pgarchive_verify() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --restore --all --json --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_dump() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|extract|restore|expire)
        # Offer subcommand argument completions
        "_pgarchive_dump_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list extract restore expire' -- "${cur}"))
        ;;
    esac
}

_pgarchive_dump_create() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --from-upstream --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --jobs)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--jobs')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion dump create -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_dump_list() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion dump list -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_dump_extract() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --globals --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --time)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--time')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion dump extract -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_dump_restore() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=(--table)
    non_repeating_options=(-C --container --time --into --jobs)
    __pgarchive_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--time')
        return
        ;;
    '--into')
        return
        ;;
    '--table')
        return
        ;;
    '--jobs')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __pgarchive_add_completions -W "$(__pgarchive_custom_complete ---completion dump restore -- positional@0 "${COMP_CWORD}" "$(__pgarchive_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_pgarchive_dump_expire() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --show --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_cron() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    expire-and-create-snapshot|compress-wal|watchdog|maintenance|dump|verify)
        # Offer subcommand argument completions
        "_pgarchive_cron_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'expire-and-create-snapshot compress-wal watchdog maintenance dump verify' -- "${cur}"))
        ;;
    esac
}

_pgarchive_cron_expire-and-create-snapshot() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_cron_compress-wal() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_cron_watchdog() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_cron_maintenance() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_cron_dump() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --jobs)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--jobs')
        return
        ;;
    esac
}

_pgarchive_cron_verify() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --no-wait --restore --all --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    esac
}

_pgarchive_metrics() {
    repeating_flags=()
    non_repeating_flags=(-v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(-C --container --root --output)
    __pgarchive_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C'|'--container')
        __pgarchive_add_completions -d
        return
        ;;
    '--root')
        __pgarchive_add_completions -d
        return
        ;;
    '--output')
        __pgarchive_add_completions -o plusdirs -fX '!*.@(prom)'
        return
        ;;
    esac
}

_pgarchive_bash-completion() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options 0
}

_pgarchive_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __pgarchive_offer_flags_options -1
}

# pgarchive: bash splits words at ':' and '=' (COMP_WORDBREAKS). Join the pieces of
# names with colons (snapshot names are UTC times), make --option=value two words,
# complete, then trim what stays on the line before the last colon.
__pgarchive_complete() {
    local -a __pgarchive_words=()
    local -i __pgarchive_cword=0 __pgarchive_i __pgarchive_offset
    local COMP_LINE="${COMP_LINE}"
    local __pgarchive_line="${COMP_LINE}" __pgarchive_word __pgarchive_spaced __pgarchive_last
    local __pgarchive_colons=false __pgarchive_glue=false __pgarchive_cur_prefix=""
    for ((__pgarchive_i = 0; __pgarchive_i < ${#COMP_WORDS[@]}; __pgarchive_i++)); do
        __pgarchive_word="${COMP_WORDS[__pgarchive_i]}"
        __pgarchive_spaced=false
        while [[ "${__pgarchive_line}" == [[:blank:]]* ]]; do
            __pgarchive_line="${__pgarchive_line:1}"
            __pgarchive_spaced=true
        done
        __pgarchive_offset=$((${#COMP_LINE} - ${#__pgarchive_line}))
        __pgarchive_line="${__pgarchive_line#"${__pgarchive_word}"}"
        __pgarchive_last=""
        ((${#__pgarchive_words[@]})) && __pgarchive_last="${__pgarchive_words[${#__pgarchive_words[@]} - 1]}"
        if ((__pgarchive_i > 0)) && ! "${__pgarchive_spaced}" && [[ "${__pgarchive_word}" == "=" && "${__pgarchive_last}" == -* ]]; then
            # --option=value: the value becomes a word of its own.
            COMP_LINE="${COMP_LINE:0:__pgarchive_offset} ${COMP_LINE:__pgarchive_offset + 1}"
            __pgarchive_words+=("")
            __pgarchive_glue=true
            __pgarchive_colons=false
            if ((__pgarchive_i == COMP_CWORD)); then
                __pgarchive_cword=$((${#__pgarchive_words[@]} - 1))
                __pgarchive_cur_prefix=""
            fi
            continue
        fi
        local __pgarchive_previous_colons="${__pgarchive_colons}"
        __pgarchive_colons=false
        [[ -n "${__pgarchive_word}" && -z "${__pgarchive_word//:/}" ]] && __pgarchive_colons=true
        if ((__pgarchive_i > 0)) && ! "${__pgarchive_spaced}" && { "${__pgarchive_colons}" || "${__pgarchive_previous_colons}" || "${__pgarchive_glue}"; }; then
            ((__pgarchive_i == COMP_CWORD)) && __pgarchive_cur_prefix="${__pgarchive_last}"
            __pgarchive_words[${#__pgarchive_words[@]} - 1]+="${__pgarchive_word}"
        else
            ((__pgarchive_i == COMP_CWORD)) && __pgarchive_cur_prefix=""
            __pgarchive_words+=("${__pgarchive_word}")
        fi
        __pgarchive_glue=false
        ((__pgarchive_i == COMP_CWORD)) && __pgarchive_cword=$((${#__pgarchive_words[@]} - 1))
    done
    local __pgarchive_cur="${__pgarchive_cur_prefix}${2}"
    local __pgarchive_current="${COMP_WORDS[COMP_CWORD]}"
    [[ -n "${__pgarchive_current}" && -z "${__pgarchive_current//:/}" ]] && __pgarchive_cur="${__pgarchive_cur_prefix}${__pgarchive_current}"
    local __pgarchive_prev=""
    ((__pgarchive_cword > 0)) && __pgarchive_prev="${__pgarchive_words[__pgarchive_cword - 1]}"

    local -a COMP_WORDS=("${__pgarchive_words[@]}")
    local COMP_CWORD="${__pgarchive_cword}"
    _pgarchive "${1}" "${__pgarchive_cur}" "${__pgarchive_prev}"

    if [[ "${__pgarchive_cur}" == *:* && "${COMP_WORDBREAKS}" == *:* ]]; then
        local __pgarchive_colon_prefix="${__pgarchive_cur%"${__pgarchive_cur##*:}"}"
        for ((__pgarchive_i = 0; __pgarchive_i < ${#COMPREPLY[@]}; __pgarchive_i++)); do
            COMPREPLY[__pgarchive_i]="${COMPREPLY[__pgarchive_i]#"${__pgarchive_colon_prefix}"}"
        done
    fi
    local __pgarchive_reply __pgarchive_names=false
    for __pgarchive_reply in "${COMPREPLY[@]}"; do
        [[ -e "${__pgarchive_reply}" ]] && return 0
        [[ "${__pgarchive_cur}${__pgarchive_reply}" == *:* ]] && __pgarchive_names=true
    done
    "${__pgarchive_names}" && compopt +o filenames 2>/dev/null
    return 0
}

complete -o filenames -F __pgarchive_complete pgarchive
